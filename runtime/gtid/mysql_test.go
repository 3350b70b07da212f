package gtid

import (
	"errors"
	"strings"
	"testing"
)

const (
	uA = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	uB = "4f1f5a70-1bd8-11ef-9a3c-0242ac120002"
	uC = "b3d7a6a2-0c5e-11ee-8f4e-0242ac110003"
)

func TestParseMySQLCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{" \n\t", ""},
		{",,", ""},
		{"3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7", uA + ":1-5:7"},
		{"3E11FA47-71CA-11E1-9E33-C80AA9429562:23", uA + ":23"},
		{uA + ":7:1-5", uA + ":1-5:7"},
		{uA + ":1-5:6-7", uA + ":1-7"},
		{uA + ":5:4:3", uA + ":3-5"},
		{uA + ":1-5:3-4", uA + ":1-5"},
		{uA + ":1-5," + uA + ":3-9", uA + ":1-9"},
		{uB + ":1-3," + uA + ":1-5", uA + ":1-5," + uB + ":1-3"},
		// MySQL prints multi-UUID sets with ",\n".
		{uA + ":1-5,\n" + uB + ":1-3", uA + ":1-5," + uB + ":1-3"},
		{" " + uA + " : 1 - 5 : 7 ,\r\n " + uB + " :3 ", uA + ":1-5:7," + uB + ":3"},
		{",," + uA + ":1,,", uA + ":1"},
		{uA + ":9223372036854775806", uA + ":9223372036854775806"},
		{uA + ":1-9223372036854775806", uA + ":1-9223372036854775806"},
		// Tagged GTIDs (MySQL 8.3+): tags lower case, after the untagged
		// intervals of their UUID, in tag order.
		{uA + ":TAG:1-3", uA + ":tag:1-3"},
		{uA + ":1-5:tag1:1-3:tag2:7", uA + ":1-5:tag1:1-3:tag2:7"},
		{uA + ":tag2:7:Tag1:1-3," + uA + ":1-5", uA + ":1-5:tag1:1-3:tag2:7"},
		{uA + ":t:1," + uA + ":T:2", uA + ":t:1-2"},
		{uA + ":_a1:1", uA + ":_a1:1"},
		{uA + ": tag : 1", uA + ":tag:1"},
		{uA + ":" + strings.Repeat("x", 32) + ":1", uA + ":" + strings.Repeat("x", 32) + ":1"},
		{uB + ":b:1," + uA + ":z:1," + uB + ":1", uA + ":z:1," + uB + ":1:b:1"},
	} {
		s, err := ParseMySQL(tc.in)
		if err != nil {
			t.Errorf("ParseMySQL(%q): %v", tc.in, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("ParseMySQL(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		if s.IsEmpty() != (tc.want == "") {
			t.Errorf("ParseMySQL(%q).IsEmpty() = %v", tc.in, s.IsEmpty())
		}
	}
}

func TestParseMySQLErrors(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{uA, "expected ':' after UUID"},
		{uA + ":", "expected sequence number"},
		{uA + ":0", "sequence number 0"},
		{uA + ":0-5", "sequence number 0"},
		{uA + ":01", "leading zero"},
		{uA + ":1-02", "leading zero"},
		{uA + ":5-3", "ends before it starts"},
		{uA + ":9223372036854775807", "out of range"},
		{uA + ":1-9223372036854775807", "out of range"},
		{uA + ":18446744073709551616", "out of range"},
		{uA + ":1-", "expected sequence number"},
		{uA + ":1--2", "expected sequence number"},
		{uA + ":tag", "has no interval"},
		{uA + ":tag:", "expected sequence number"},
		{uA + ":tag1:tag2:1", "has no interval"},
		{uA + ":1:tag", "has no interval"},
		{uA + ":" + strings.Repeat("x", 33) + ":1", "longer than 32"},
		{uA + ":1tag:1", "expected ','"},
		{uA + ":1x", "expected ','"},
		{uA + ":+1", "expected sequence number"},
		{uA + ":-1", "expected sequence number"},
		{uA + ":0x10", "sequence number 0"},
		{uA + ":1;" + uB + ":1", "expected ','"},
		{uA + ":1 " + uB + ":1", "expected ','"},
		{uA + ":1,x", "expected a UUID"},
		{"xyz", "expected a UUID"},
		{uA[:35] + ":1", "expected a UUID"},
		{"3e11fa4771ca11e19e33c80aa9429562:1", "expected a UUID"},
		{"{" + uA + "}:1", "expected a UUID"},
		{"3e11fa47-71ca-11e1-9e33-c80aa942956g:1", "expected a UUID"},
		{"0-1-100", "expected a UUID"},
		{uA + ":t\u00e9:1", "has no interval"},
	} {
		_, err := ParseMySQL(tc.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseMySQL(%q) error = %v, want a *ParseError", tc.in, err)
			continue
		}
		if !strings.Contains(pe.Reason, tc.reason) || !strings.Contains(err.Error(), "mysql gtid set") {
			t.Errorf("ParseMySQL(%q) error = %q, want reason %q", tc.in, err, tc.reason)
		}
		if pe.Text != tc.in || pe.Offset < 0 || pe.Offset > len(tc.in) {
			t.Errorf("ParseMySQL(%q) error has text %q offset %d", tc.in, pe.Text, pe.Offset)
		}
	}
}

// Examples from the MySQL manual's GTID_SUBSET and GTID_SUBTRACT pages
// ("Functions Used with Global Transaction Identifiers").
func TestMySQLManualExamples(t *testing.T) {
	const u = "3E11FA47-71CA-11E1-9E33-C80AA9429562"
	for _, tc := range []struct {
		sub, super string
		want       bool
	}{
		{u + ":23", u + ":21-57", true},
		{u + ":23-25", u + ":21-57", true},
		{u + ":20-25", u + ":21-57", false},
	} {
		if got := mustMySQL(t, tc.super).Contains(mustMySQL(t, tc.sub)); got != tc.want {
			t.Errorf("GTID_SUBSET(%s, %s) = %v, want %v", tc.sub, tc.super, got, tc.want)
		}
	}
	for _, tc := range []struct{ a, b, want string }{
		{u + ":21-57", u + ":21", uA + ":22-57"},
		{u + ":21-57", u + ":20-25", uA + ":26-57"},
		{u + ":21-57", u + ":23-24", uA + ":21-22:25-57"},
	} {
		if got := mustMySQL(t, tc.a).Subtract(mustMySQL(t, tc.b)).String(); got != tc.want {
			t.Errorf("GTID_SUBTRACT(%s, %s) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestMySQLContains(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{uA + ":1-10", uA + ":2-5", true},
		{uA + ":1-10", uA + ":2-11", false},
		{uA + ":1-5:7-9", uA + ":5-7", false},
		{uA + ":1-5:7-9", uA + ":5:7", true},
		{uA + ":1-10", "", true},
		{"", "", true},
		{"", uA + ":1", false},
		{uA + ":1-10", uB + ":1", false},
		{uA + ":1-10", uA + ":t:1", false},
		{uA + ":t:1-10", uA + ":1", false},
		{uA + ":1-10:t:1-3," + uB + ":1-4", uA + ":t:2-3," + uB + ":4", true},
	} {
		if got := mustMySQL(t, tc.a).Contains(mustMySQL(t, tc.b)); got != tc.want {
			t.Errorf("(%s).Contains(%s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestMySQLUnionSubtract(t *testing.T) {
	for _, tc := range []struct{ a, b, union, minus string }{
		{uA + ":1-3", uA + ":4-6", uA + ":1-6", uA + ":1-3"},
		{uA + ":1-10", uA + ":3-4:6", uA + ":1-10", uA + ":1-2:5:7-10"},
		{uA + ":1-10," + uB + ":1-5", uA + ":1-10", uA + ":1-10," + uB + ":1-5", uB + ":1-5"},
		{uA + ":1-3:t:1-3", uA + ":t:2", uA + ":1-3:t:1-3", uA + ":1-3:t:1:3"},
		{uA + ":t:1-3", uA + ":1-3", uA + ":1-3:t:1-3", uA + ":t:1-3"},
		{uB + ":1", uA + ":2," + uC + ":3", uA + ":2," + uB + ":1," + uC + ":3", uB + ":1"},
		{"", uA + ":1", uA + ":1", ""},
		{uA + ":1", "", uA + ":1", uA + ":1"},
		{uA + ":1-9223372036854775806", uA + ":9223372036854775806", uA + ":1-9223372036854775806", uA + ":1-9223372036854775805"},
		{uA + ":2-8", uA + ":1-3:5:7-9", uA + ":1-9", uA + ":4:6"},
	} {
		a, b := mustMySQL(t, tc.a), mustMySQL(t, tc.b)
		if got := a.Union(b).String(); got != tc.union {
			t.Errorf("(%s).Union(%s) = %s, want %s", tc.a, tc.b, got, tc.union)
		}
		if got := a.Subtract(b).String(); got != tc.minus {
			t.Errorf("(%s).Subtract(%s) = %s, want %s", tc.a, tc.b, got, tc.minus)
		}
		checkMySQLInvariants(t, a, b)
	}
}

func TestMySQLOperandsUnchanged(t *testing.T) {
	a := mustMySQL(t, uA+":1-5:9:t:1,"+uB+":3-4")
	b := mustMySQL(t, uA+":6-8:t:2,"+uC+":1")
	before := a.String() + " " + b.String()
	u1 := a.Union(b)
	u1s := u1.String()
	_ = a.Union(mustMySQL(t, uA+":10-20"))
	_ = u1.Union(mustMySQL(t, uA+":100"))
	_ = a.Subtract(b)
	_ = u1.Subtract(a)
	if after := a.String() + " " + b.String(); after != before {
		t.Errorf("operands changed: %s -> %s", before, after)
	}
	if u1.String() != u1s {
		t.Errorf("result changed by later operations: %s -> %s", u1s, u1.String())
	}
}

func TestParseMySQLGTID(t *testing.T) {
	for _, tc := range []struct{ in, want, tag string }{
		{"3E11FA47-71CA-11E1-9E33-C80AA9429562:23", uA + ":23", ""},
		{" " + uA + " : Billing : 5 ", uA + ":billing:5", "billing"},
	} {
		g, err := ParseMySQLGTID(tc.in)
		if err != nil || g.String() != tc.want || g.Tag() != tc.tag {
			t.Errorf("ParseMySQLGTID(%q) = %q (tag %q), %v; want %q", tc.in, g, g.Tag(), err, tc.want)
			continue
		}
		if g.UUID().String() != uA || g.Seq() == 0 || !g.AsSet().Equal(mustMySQL(t, tc.in)) {
			t.Errorf("ParseMySQLGTID(%q): accessors disagree: %v %d", tc.in, g.UUID(), g.Seq())
		}
	}
	for _, in := range []string{"", uA, uA + ":0", uA + ":1-2", uA + ":tag", uA + ":t1:t2:1",
		uA + ":1," + uB + ":2", uA + ":1:2", uA + ":9223372036854775807"} {
		if g, err := ParseMySQLGTID(in); err == nil {
			t.Errorf("ParseMySQLGTID(%q) = %v, want an error", in, g)
		}
	}
	var zero MySQLGTID
	if !zero.IsZero() || zero.String() != "" || !zero.AsSet().IsEmpty() {
		t.Error("zero MySQLGTID is not empty")
	}
}

func TestParseUUID(t *testing.T) {
	u, err := ParseUUID(" 3E11FA47-71CA-11E1-9E33-C80AA9429562\n")
	if err != nil || u.String() != uA {
		t.Errorf("ParseUUID = %v, %v", u, err)
	}
	for _, in := range []string{"", uA + "0", uA[:35], "3e11fa47_71ca-11e1-9e33-c80aa9429562", "3e11fa47-71ca-11e1-9e33-c80aa942956z"} {
		if _, err := ParseUUID(in); err == nil {
			t.Errorf("ParseUUID(%q): want an error", in)
		}
	}
}

func mustMySQL(t testing.TB, s string) MySQLSet {
	t.Helper()
	set, err := ParseMySQL(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}
