package flavor

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in                  string
		kind                Kind
		major, minor, patch int
	}{
		{"5.5.5-10.11.6-MariaDB-0+deb12u1", MariaDB, 10, 11, 6},
		{"10.11.19-MariaDB-0+deb12u1-log", MariaDB, 10, 11, 19},
		{"11.4.2-MariaDB", MariaDB, 11, 4, 2},
		{"10.5.23-MariaDB-1:10.5.23+maria~ubu2004", MariaDB, 10, 5, 23},
		{"8.0.36", MySQL, 8, 0, 36},
		{"8.0.36-28", MySQL, 8, 0, 36}, // Percona Server
		{"8.4.0-commercial", MySQL, 8, 4, 0},
		{"5.7.44-log", MySQL, 5, 7, 44},
		{"9.1.0", MySQL, 9, 1, 0},
		{"5.5.5", MySQL, 5, 5, 5},
		{"8.0", MySQL, 8, 0, 0},
	}
	for _, tt := range tests {
		f, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if f.Kind != tt.kind || f.Major != tt.major || f.Minor != tt.minor || f.Patch != tt.patch {
			t.Errorf("Parse(%q) = %v, want %v %d.%d.%d", tt.in, f, tt.kind, tt.major, tt.minor, tt.patch)
		}
		if f.Raw != tt.in {
			t.Errorf("Parse(%q).Raw = %q", tt.in, f.Raw)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "  ", "MariaDB", "8", "8.x.1", "1.2.3.4", "-1.0.0"} {
		if f, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, f)
		}
	}
}

func TestAtLeast(t *testing.T) {
	f := MustParse("8.0.23")
	for _, tt := range []struct {
		maj, min, patch int
		want            bool
	}{
		{8, 0, 22, true}, {8, 0, 23, true}, {8, 0, 24, false},
		{5, 7, 99, true}, {8, 1, 0, false}, {9, 0, 0, false},
	} {
		if got := f.AtLeast(tt.maj, tt.min, tt.patch); got != tt.want {
			t.Errorf("8.0.23 AtLeast(%d.%d.%d) = %v", tt.maj, tt.min, tt.patch, got)
		}
	}
	if s := MustParse("5.5.5-10.11.6-MariaDB").String(); s != "mariadb 10.11.6" {
		t.Errorf("String() = %q", s)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"8.0.36", "5.5.5-10.11.6-MariaDB-log", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(fl.Version())
		if err != nil || again.Major != fl.Major || again.Minor != fl.Minor || again.Patch != fl.Patch {
			t.Fatalf("%q → %q did not re-parse: %v %v", s, fl.Version(), again, err)
		}
	})
}
