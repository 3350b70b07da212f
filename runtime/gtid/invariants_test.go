package gtid

import (
	"slices"
	"testing"
)

// checkMySQLCanonical verifies the representation invariants every
// MySQLSet must keep, whatever built it.
func checkMySQLCanonical(t testing.TB, s MySQLSet) {
	t.Helper()
	for i, e := range s.entries {
		if i > 0 && s.entries[i-1].key.compare(e.key) >= 0 {
			t.Fatalf("%s: entries out of order at %d", s, i)
		}
		if len(e.tag()) > maxTagLen || (e.tag() != "" && !validTag(e.tag())) {
			t.Fatalf("%s: bad tag %q", s, e.tag())
		}
		if len(e.ivs) == 0 {
			t.Fatalf("%s: entry %d has no interval", s, i)
		}
		for j, iv := range e.ivs {
			if iv.start < 1 || iv.start > iv.end || iv.end > maxGNO {
				t.Fatalf("%s: bad interval %v", s, iv)
			}
			if j > 0 && iv.start <= e.ivs[j-1].end+1 {
				t.Fatalf("%s: intervals not merged: %v %v", s, e.ivs[j-1], iv)
			}
		}
	}
}

func (e mysqlEntry) tag() string { return e.key.tag }

func validTag(tag string) bool {
	if !isTagStart(tag[0]) || tag[0] >= 'A' && tag[0] <= 'Z' {
		return false
	}
	for i := 1; i < len(tag); i++ {
		if !isTagChar(tag[i]) || tag[i] >= 'A' && tag[i] <= 'Z' {
			return false
		}
	}
	return true
}

// checkMySQLInvariants checks the algebra of sets on a and b.
func checkMySQLInvariants(t testing.TB, a, b MySQLSet) {
	t.Helper()
	for _, s := range []MySQLSet{a, b} {
		checkMySQLCanonical(t, s)
		back, err := ParseMySQL(s.String())
		if err != nil || !back.Equal(s) || back.String() != s.String() {
			t.Fatalf("round trip of %q: %q, %v", s, back, err)
		}
		if !s.Contains(s) || !s.Equal(s) || !s.Union(s).Equal(s) || !s.Subtract(s).IsEmpty() {
			t.Fatalf("%s: identity laws fail", s)
		}
	}
	u := a.Union(b)
	checkMySQLCanonical(t, u)
	if !u.Contains(a) || !u.Contains(b) || !u.Equal(b.Union(a)) {
		t.Fatalf("union of %s and %s = %s", a, b, u)
	}
	d := a.Subtract(b)
	checkMySQLCanonical(t, d)
	if !a.Contains(d) || !d.Subtract(b).Equal(d) || !d.Union(b).Equal(u) {
		t.Fatalf("%s minus %s = %s", a, b, d)
	}
	if d.IsEmpty() != b.Contains(a) {
		t.Fatalf("%s minus %s = %q but Contains = %v", a, b, d, b.Contains(a))
	}
	if (a.Contains(b) && b.Contains(a)) != a.Equal(b) || a.Equal(b) != (a.String() == b.String()) {
		t.Fatalf("%s and %s: Equal disagrees with Contains or String", a, b)
	}
}

// checkMariaDBInvariants is checkMySQLInvariants for positions, whose
// Union keeps the receiver on a seq_no tie and so is commutative only up
// to server ids.
func checkMariaDBInvariants(t testing.TB, a, b MariaDBSet) {
	t.Helper()
	for _, s := range []MariaDBSet{a, b} {
		if !slices.IsSortedFunc(s.gtids, cmpDomain) || len(slices.CompactFunc(slices.Clone(s.gtids), sameDomain)) != len(s.gtids) {
			t.Fatalf("%s: not canonical", s)
		}
		back, err := ParseMariaDB(s.String())
		if err != nil || !back.Equal(s) || back.String() != s.String() {
			t.Fatalf("round trip of %q: %q, %v", s, back, err)
		}
		if !s.Contains(s) || !s.Equal(s) || !s.Union(s).Equal(s) || !s.Subtract(s).IsEmpty() {
			t.Fatalf("%s: identity laws fail", s)
		}
	}
	u, ba := a.Union(b), b.Union(a)
	if !u.Contains(a) || !u.Contains(b) || !u.Contains(ba) || !ba.Contains(u) {
		t.Fatalf("union of %s and %s = %s", a, b, u)
	}
	d := a.Subtract(b)
	if !a.Contains(d) || d.IsEmpty() != b.Contains(a) {
		t.Fatalf("%s minus %s = %s", a, b, d)
	}
	for _, g := range d.gtids {
		if b.Contains(g.AsSet()) {
			t.Fatalf("%s minus %s = %s holds %s, which %s has", a, b, d, g, b)
		}
	}
	if a.Equal(b) != (a.String() == b.String()) {
		t.Fatalf("%s and %s: Equal disagrees with String", a, b)
	}
}

func sameDomain(a, b MariaDBGTID) bool { return a.Domain == b.Domain }
