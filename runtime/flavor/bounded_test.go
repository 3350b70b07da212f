package flavor

import (
	"testing"
	"time"
)

func TestBounded(t *testing.T) {
	for _, c := range []struct {
		version string
		d       time.Duration
		want    string
		ok      bool
	}{
		{"10.11.19-MariaDB", 100 * time.Millisecond, "SET STATEMENT max_statement_time = 0.1 FOR SET GLOBAL read_only = ON", true},
		{"10.5.2-MariaDB", 2 * time.Second, "SET STATEMENT max_statement_time = 2 FOR SET GLOBAL read_only = ON", true},
		{"10.11.19-MariaDB", 0, "SET GLOBAL read_only = ON", false},
		{"8.0.36", 100 * time.Millisecond, "SET GLOBAL read_only = ON", false},
		{"8.4.0", time.Second, "SET GLOBAL read_only = ON", false},
	} {
		got, ok := MustParse(c.version).Bounded("SET GLOBAL read_only = ON", c.d)
		if got != c.want || ok != c.ok {
			t.Errorf("%s %s: %q %v, want %q %v", c.version, c.d, got, ok, c.want, c.ok)
		}
	}
}
