package gtid

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMariaDBCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"0-1-100", "0-1-100"},
		{"1-2-50,0-1-100", "0-1-100,1-2-50"},
		{" 0-1-100,\n 1-2-50", "0-1-100,1-2-50"},
		{"0-1-5,\t1-2-3", "0-1-5,1-2-3"},
		{"0-1-0", "0-1-0"},
		{"007-01-05", "7-1-5"},
		{"4294967295-4294967295-18446744073709551615", "4294967295-4294967295-18446744073709551615"},
	} {
		s, err := ParseMariaDB(tc.in)
		if err != nil {
			t.Errorf("ParseMariaDB(%q): %v", tc.in, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("ParseMariaDB(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseMariaDBErrors(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"0-1", "expected '-' after server id"},
		{"0-1-", "expected sequence number"},
		{"0--1", "expected server id"},
		{"-0-1-1", "expected domain id"},
		{"0-1-1,", "expected a gtid after ','"},
		{",0-1-1", "expected domain id"},
		{"0-1-1,,1-1-1", "expected domain id"},
		{"4294967296-1-1", "domain id out of range"},
		{"0-4294967296-1", "server id out of range"},
		{"0-1-18446744073709551616", "sequence number out of range"},
		{"0-1-1,0-2-5", "domain 0 listed twice"},
		{"0-1-1 1-1-1", "blank after a gtid"},
		{"0-1-5 ,1-2-3", "blank after a gtid, which the server refuses (\"Could not parse GTID list\")"},
		{"0-1-5 ", "blank after a gtid"},
		{" 0-1-3 , 1-2-3", "blank after a gtid"},
		{" ", "expected domain id"},
		{"  \n", "expected domain id"},
		{"0-1-1x", "expected ','"},
		{"a-b-c", "expected domain id"},
		{"0 -1-1", "expected '-' after domain id"},
		{"0-1-+1", "expected sequence number"},
		{uA + ":1", "expected '-' after domain id"},
	} {
		_, err := ParseMariaDB(tc.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseMariaDB(%q) error = %v, want a *ParseError", tc.in, err)
			continue
		}
		if !strings.Contains(pe.Reason, tc.reason) || pe.Text != tc.in {
			t.Errorf("ParseMariaDB(%q) error = %q, want reason %q", tc.in, err, tc.reason)
		}
	}
}

// MASTER_GTID_WAIT "waits until the value of gtid_slave_pos has the same or
// higher seq_no within all replication domains specified in the gtid-list";
// an empty list returns at once; a domain missing from gtid_slave_pos keeps
// it waiting (MariaDB KB, MASTER_GTID_WAIT).
func TestMariaDBContains(t *testing.T) {
	const slavePos = "0-1-100,1-2-50"
	for _, tc := range []struct {
		waitFor string
		want    bool
	}{
		{"", true},
		{"0-1-100", true},
		{"0-1-99", true},
		{"0-1-101", false},
		{"0-9-100", true}, // the server id is not compared
		{"1-2-50,0-1-100", true},
		{"1-2-51", false},
		{"2-1-1", false}, // domain not in gtid_slave_pos yet
		{"2-1-0", true},  // seq_no 0: MASTER_GTID_WAIT returns 0 at once
		{"0-1-100,2-1-0", true},
		{"0-1-101,2-1-0", false},
	} {
		got := mustMariaDB(t, slavePos).Contains(mustMariaDB(t, tc.waitFor))
		if got != tc.want {
			t.Errorf("(%s).Contains(%s) = %v, want %v", slavePos, tc.waitFor, got, tc.want)
		}
	}
}

func TestMariaDBUnionSubtract(t *testing.T) {
	for _, tc := range []struct{ a, b, union, minus string }{
		{"0-1-100,1-2-50", "0-3-120,2-1-7", "0-3-120,1-2-50,2-1-7", "1-2-50"},
		{"0-1-100,1-2-50,2-1-7", "0-1-100,1-2-40", "0-1-100,1-2-50,2-1-7", "1-2-50,2-1-7"},
		{"0-2-100", "0-1-100", "0-2-100", ""}, // tie: receiver's entry kept
		{"0-1-5", "0-2-5", "0-1-5", ""},
		{"", "0-1-5", "0-1-5", ""},
		{"0-1-5", "", "0-1-5", "0-1-5"},
		{"5-1-9", "0-1-1,9-1-1", "0-1-1,5-1-9,9-1-1", "5-1-9"},
	} {
		a, b := mustMariaDB(t, tc.a), mustMariaDB(t, tc.b)
		if got := a.Union(b).String(); got != tc.union {
			t.Errorf("(%s).Union(%s) = %s, want %s", tc.a, tc.b, got, tc.union)
		}
		if got := a.Subtract(b).String(); got != tc.minus {
			t.Errorf("(%s).Subtract(%s) = %s, want %s", tc.a, tc.b, got, tc.minus)
		}
		checkMariaDBInvariants(t, a, b)
	}
}

func TestMariaDBEqualKeepsServerID(t *testing.T) {
	a, b := mustMariaDB(t, "0-1-5"), mustMariaDB(t, "0-2-5")
	if a.Equal(b) {
		t.Error("0-1-5 equals 0-2-5")
	}
	if !a.Contains(b) || !b.Contains(a) {
		t.Error("0-1-5 and 0-2-5 should contain each other")
	}
}

func TestMariaDBAccessors(t *testing.T) {
	s := mustMariaDB(t, "1-2-50,0-1-100")
	list := s.GTIDs()
	if len(list) != 2 || list[0] != (MariaDBGTID{0, 1, 100}) {
		t.Fatalf("GTIDs() = %v", list)
	}
	list[0].Seq = 1
	if g, ok := s.Domain(0); !ok || g.Seq != 100 {
		t.Errorf("Domain(0) = %v, %v after changing the GTIDs() copy", g, ok)
	}
	if _, ok := s.Domain(7); ok {
		t.Error("Domain(7) found")
	}
	if s.Flavor() != MariaDB || s.AsSet().Flavor() != MariaDB {
		t.Error("flavor")
	}
}

func TestNewMariaDBSet(t *testing.T) {
	in := []MariaDBGTID{{1, 2, 50}, {0, 1, 100}}
	s, err := NewMariaDBSet(in...)
	if err != nil || s.String() != "0-1-100,1-2-50" {
		t.Fatalf("NewMariaDBSet = %v, %v", s, err)
	}
	in[0].Seq = 9
	if s.String() != "0-1-100,1-2-50" {
		t.Error("NewMariaDBSet kept the caller's slice")
	}
	if _, err := NewMariaDBSet(MariaDBGTID{0, 1, 1}, MariaDBGTID{0, 2, 2}); err == nil {
		t.Error("duplicate domain accepted")
	}
}

func TestParseMariaDBGTID(t *testing.T) {
	g, err := ParseMariaDBGTID(" 0-1-100")
	if err != nil || g != (MariaDBGTID{0, 1, 100}) || g.String() != "0-1-100" {
		t.Errorf("ParseMariaDBGTID = %v, %v", g, err)
	}
	for _, in := range []string{"", "0-1-100,1-1-1", "0-1", "0-1-1 x", "0-1-100\n", "0-1-100 "} {
		if _, err := ParseMariaDBGTID(in); err == nil {
			t.Errorf("ParseMariaDBGTID(%q): want an error", in)
		}
	}
}

func mustMariaDB(t testing.TB, s string) MariaDBSet {
	t.Helper()
	set, err := ParseMariaDB(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}
