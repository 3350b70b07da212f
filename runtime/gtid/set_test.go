package gtid

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFlavors(t *testing.T) {
	m, err := Parse(uA+":1-5", MySQL)
	if err != nil || m.Flavor() != MySQL || m.String() != uA+":1-5" {
		t.Fatalf("Parse mysql = %v, %v", m, err)
	}
	d, err := Parse("0-1-5", MariaDB)
	if err != nil || d.Flavor() != MariaDB || d.String() != "0-1-5" {
		t.Fatalf("Parse mariadb = %v, %v", d, err)
	}
	if _, err := Parse("0-1-5", "MariaDB"); err == nil || !strings.Contains(err.Error(), "unknown gtid flavor") {
		t.Errorf("unknown flavor: %v", err)
	}
	if _, err := Parse("0-1-5", MySQL); err == nil {
		t.Error("mariadb text parsed as mysql")
	}
	if e, err := Parse("", MariaDB); err != nil || !e.IsEmpty() || e.Flavor() != MariaDB {
		t.Errorf("empty mariadb: %v, %v", e, err)
	}
	if _, ok := m.MySQL(); !ok {
		t.Error("MySQL() on a mysql set")
	}
	if _, ok := m.MariaDB(); ok {
		t.Error("MariaDB() on a mysql set")
	}
}

func TestParseAny(t *testing.T) {
	for _, tc := range []struct {
		in     string
		flavor Flavor
	}{
		{uA + ":1-5", MySQL},
		{"3E11FA47-71CA-11E1-9E33-C80AA9429562:1,\n" + uB + ":2", MySQL},
		{"0-1-100", MariaDB},
		{" 0-1-100,\n1-2-3", MariaDB},
	} {
		s, err := ParseAny(tc.in)
		if err != nil || s.Flavor() != tc.flavor {
			t.Errorf("ParseAny(%q) = %v (%s), %v; want %s", tc.in, s, s.Flavor(), err, tc.flavor)
		}
	}
	for _, in := range []string{"", "  ", "0-1", "xyz", uA} {
		if s, err := ParseAny(in); err == nil {
			t.Errorf("ParseAny(%q) = %v, want an error", in, s)
		}
	}
}

func TestParseGTIDSet(t *testing.T) {
	g, err := ParseGTID(uA+":7", MySQL)
	if err != nil || g.String() != uA+":7" {
		t.Fatalf("ParseGTID mysql = %v, %v", g, err)
	}
	executed, _ := Parse(uA+":1-10", MySQL)
	if ok, err := executed.Contains(g); !ok || err != nil {
		t.Errorf("Contains(gtid) = %v, %v", ok, err)
	}
	if _, err := ParseGTID(uA+":1-2", MySQL); err == nil {
		t.Error("ParseGTID took a range")
	}
	if g, err := ParseGTID("0-1-5", MariaDB); err != nil || g.String() != "0-1-5" {
		t.Errorf("ParseGTID mariadb = %v, %v", g, err)
	}
	if _, err := ParseGTID("0-1-5", ""); err == nil {
		t.Error("ParseGTID without flavor")
	}
}

func TestSetFlavorMismatch(t *testing.T) {
	m, _ := Parse(uA+":1-5", MySQL)
	d, _ := Parse("0-1-5", MariaDB)
	var zero Set
	for _, pair := range [][2]Set{{m, d}, {d, m}, {zero, m}, {m, zero}, {zero, zero}} {
		a, b := pair[0], pair[1]
		if _, err := a.Contains(b); !errors.Is(err, ErrFlavorMismatch) {
			t.Errorf("%s Contains %s: %v", a.Flavor(), b.Flavor(), err)
		}
		if _, err := a.Union(b); !errors.Is(err, ErrFlavorMismatch) {
			t.Errorf("%s Union %s: %v", a.Flavor(), b.Flavor(), err)
		}
		if _, err := a.Subtract(b); !errors.Is(err, ErrFlavorMismatch) {
			t.Errorf("%s Subtract %s: %v", a.Flavor(), b.Flavor(), err)
		}
	}
	if m.Equal(d) || d.Equal(m) || zero.Equal(m) || !zero.Equal(zero) {
		t.Error("Equal across flavors")
	}
	if !zero.IsEmpty() || zero.String() != "" || zero.Flavor() != "" {
		t.Error("zero Set")
	}
}

func TestSetOps(t *testing.T) {
	for _, f := range []Flavor{MySQL, MariaDB} {
		a, b := uA+":1-5", uA+":3-9"
		if f == MariaDB {
			a, b = "0-1-5,1-1-1", "0-1-9"
		}
		sa, _ := Parse(a, f)
		sb, _ := Parse(b, f)
		u, err := sa.Union(sb)
		if err != nil || u.Flavor() != f {
			t.Fatalf("%s union: %v, %v", f, u, err)
		}
		if ok, err := u.Contains(sa); !ok || err != nil {
			t.Errorf("%s: union does not contain its operand", f)
		}
		d, err := sa.Subtract(sb)
		if err != nil || d.IsEmpty() || d.Flavor() != f {
			t.Errorf("%s subtract: %v, %v", f, d, err)
		}
		if !sa.Equal(sa) || sa.Equal(sb) {
			t.Errorf("%s Equal", f)
		}
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := ParseMySQL(uA + ":1-5:0")
	want := `mysql gtid set "` + uA + `:1-5:0": sequence number 0 (MySQL numbers transactions from 1) at offset 41 near "0"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	long := strings.Repeat(uA+":1,", 50) + "x"
	_, err = ParseMySQL(long)
	if err == nil || len(err.Error()) > 400 || !strings.Contains(err.Error(), `near "x"`) {
		t.Errorf("long text error = %q", err)
	}
}
