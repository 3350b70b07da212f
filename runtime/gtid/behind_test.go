package gtid

import (
	"errors"
	"testing"
)

func TestBehind(t *testing.T) {
	const u1, u2 = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "4e11fa47-71ca-11e1-9e33-c80aa9429562"
	cases := []struct {
		flavor Flavor
		target string
		have   string
		want   uint64
	}{
		{MariaDB, "0-1-1234", "0-1-422", 812},
		{MariaDB, "0-1-1234", "0-1-1234", 0},
		{MariaDB, "0-1-10", "0-1-20", 0}, // ahead is not behind
		{MariaDB, "0-1-10,1-2-5", "0-1-7", 8},
		{MariaDB, "0-1-10", "", 10},
		{MySQL, u1 + ":1-100", u1 + ":1-40", 60},
		{MySQL, u1 + ":1-100," + u2 + ":1-3", u1 + ":1-100:102", 3},
		{MySQL, u1 + ":1-5:8-9", "", 7},
	}
	for _, c := range cases {
		target, err := Parse(c.target, c.flavor)
		if err != nil {
			t.Fatal(err)
		}
		have, err := Parse(c.have, c.flavor)
		if err != nil {
			t.Fatal(err)
		}
		got, err := target.Behind(have)
		if err != nil || got != c.want {
			t.Errorf("%s behind %q: got %d, %v; want %d", c.target, c.have, got, err, c.want)
		}
	}
	m, _ := Parse("0-1-5", MariaDB)
	y, _ := Parse(u1+":1-5", MySQL)
	if _, err := m.Behind(y); !errors.Is(err, ErrFlavorMismatch) {
		t.Errorf("mixed flavors: got %v, want ErrFlavorMismatch", err)
	}
}
