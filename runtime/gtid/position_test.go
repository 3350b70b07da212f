package gtid

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePosition(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Position
	}{
		{"mysql-bin.000012:4", Position{"mysql-bin.000012", 4}},
		{" mysql-bin.000012:4\n", Position{"mysql-bin.000012", 4}},
		{"mariadb-bin.000001:0", Position{"mariadb-bin.000001", 0}},
		{"odd:name.000003:77", Position{"odd:name.000003", 77}},
		{"with space.000003:77", Position{"with space.000003", 77}},
		{"mysql-bin.000001:18446744073709551615", Position{"mysql-bin.000001", 1<<64 - 1}},
		{"mysql-bin.000001:0004", Position{"mysql-bin.000001", 4}},
	} {
		got, err := ParsePosition(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParsePosition(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParsePositionErrors(t *testing.T) {
	for _, in := range []string{
		"", "   ", "mysql-bin.000012", ":4", "mysql-bin.000012:", "mysql-bin.000012:-4",
		"mysql-bin.000012:4x", "mysql-bin.000012: 4", "mysql-bin.000012:+4",
		"mysql-bin.000012:18446744073709551616", "mysql\n-bin.000001:4", "bin\x00.1:4",
	} {
		_, err := ParsePosition(in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParsePosition(%q): error %v, want a *ParseError", in, err)
			continue
		}
		if pe.Text != in || !strings.Contains(err.Error(), "binlog position") {
			t.Errorf("ParsePosition(%q): error %q does not name the text", in, err)
		}
	}
}

func TestPositionString(t *testing.T) {
	p := Position{"mysql-bin.000012", 4}
	if got := p.String(); got != "mysql-bin.000012:4" {
		t.Errorf("String() = %q", got)
	}
	if p.IsZero() || !(Position{}).IsZero() {
		t.Error("IsZero wrong")
	}
}

func TestPositionCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"mysql-bin.000009:4", "mysql-bin.000010:4", -1},
		{"mysql-bin.000010:4", "mysql-bin.000009:900", 1},
		{"mysql-bin.999999:4", "mysql-bin.1000000:4", -1},
		{"mysql-bin.1000000:4", "mysql-bin.999999:4", 1},
		{"mysql-bin.000012:4", "mysql-bin.000012:4", 0},
		{"mysql-bin.000012:4", "mysql-bin.000012:5", -1},
		{"mysql-bin.000012:500", "mysql-bin.000012:5", 1},
		{"a.b.000001:1", "a.b.000002:1", -1},
		{"mysql-bin.18446744073709551616:1", "mysql-bin.18446744073709551617:1", -1},
	} {
		a, b := mustPosition(t, tc.a), mustPosition(t, tc.b)
		got, err := a.Compare(b)
		if err != nil || got != tc.want {
			t.Errorf("%s.Compare(%s) = %d, %v; want %d", a, b, got, err, tc.want)
		}
		back, err := b.Compare(a)
		if err != nil || back != -tc.want {
			t.Errorf("%s.Compare(%s) = %d, %v; want %d", b, a, back, err, -tc.want)
		}
	}
}

func TestPositionCompareErrors(t *testing.T) {
	for _, tc := range []struct{ a, b Position }{
		{Position{"db1-bin.000001", 4}, Position{"db2-bin.000001", 4}},
		{Position{"mysql-bin", 4}, Position{"mysql-bin", 5}},
		{Position{"mysql-bin.", 4}, Position{"mysql-bin.1", 5}},
		{Position{"mysql-bin.00a1", 4}, Position{"mysql-bin.0001", 5}},
		{Position{"mysql-bin.01", 4}, Position{"mysql-bin.001", 4}},
		{Position{}, Position{}},
	} {
		if got, err := tc.a.Compare(tc.b); err == nil {
			t.Errorf("%v.Compare(%v) = %d, want an error", tc.a, tc.b, got)
		}
	}
}

func mustPosition(t testing.TB, s string) Position {
	t.Helper()
	p, err := ParsePosition(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
