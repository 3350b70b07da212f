package gtid

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// Every parser has a target: it must not panic, must fail only with a
// *ParseError naming the input, and what it accepts must print canonically
// and parse back to an equal value. The set targets also check the algebra
// on each pair of inputs.

var mysqlSeeds = []string{
	"", ",", uA + ":1-5:7", "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7,\n" + uB + ":1-3",
	uA + ":1-5:tag1:1-3:tag2:7", uA + ":TAG:1-3," + uA + ":2-9", uA + ":9223372036854775806",
	uA + ":0", uA + ":5-3", uA + ":01", " " + uA + " : t : 1 - 2 , ", uA + ":tag1:tag2:1",
}

var mariadbSeeds = []string{
	"", "0-1-100", "1-2-50,0-1-100", " 0-1-100 ,\n 1-2-50 ", "0-1-0",
	"4294967295-4294967295-18446744073709551615", "0-1-1,0-2-5", "0-1-1,", "007-1-5",
}

func checkParseError(t *testing.T, err error, text string) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Text != text || pe.Offset < 0 || pe.Offset > len(text) {
		t.Fatalf("parse %q: error %v is not a *ParseError on the text", text, err)
	}
	_ = err.Error()
}

func FuzzParsePosition(f *testing.F) {
	for _, s := range []string{"mysql-bin.000012:4", "mysql-bin.999999:4", "mysql-bin.1000000:4",
		"a:b.1:2", " x.1:0 ", "mysql-bin.000001:18446744073709551615", ":4", "f:"} {
		f.Add(s, "mysql-bin.000013:4")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		pa, err := ParsePosition(a)
		if err != nil {
			checkParseError(t, err, a)
			return
		}
		back, err := ParsePosition(pa.String())
		if err != nil || back != pa {
			t.Fatalf("round trip of %q: %v, %v", pa, back, err)
		}
		pb, err := ParsePosition(b)
		if err != nil {
			return
		}
		ab, errAB := pa.Compare(pb)
		ba, errBA := pb.Compare(pa)
		if (errAB == nil) != (errBA == nil) || ab != -ba {
			t.Fatalf("Compare not antisymmetric: %d %v, %d %v", ab, errAB, ba, errBA)
		}
		if errAB == nil && (ab == 0) != (pa == pb) {
			t.Fatalf("Compare(%v, %v) = 0 for different positions", pa, pb)
		}
	})
}

func FuzzParseUUID(f *testing.F) {
	for _, s := range []string{uA, strings.ToUpper(uB), " " + uC + "\n", uA[:35], "{" + uA + "}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUUID(s)
		if err != nil {
			checkParseError(t, err, s)
			return
		}
		if back, err := ParseUUID(u.String()); err != nil || back != u || u.String() != strings.ToLower(strings.TrimSpace(u.String())) {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
	})
}

func FuzzParseMySQL(f *testing.F) {
	for i, s := range mysqlSeeds {
		f.Add(s, mysqlSeeds[(i+1)%len(mysqlSeeds)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, err := ParseMySQL(a)
		if err != nil {
			checkParseError(t, err, a)
			return
		}
		sb, err := ParseMySQL(b)
		if err != nil {
			checkParseError(t, err, b)
			sb = sa
		}
		checkMySQLInvariants(t, sa, sb)
	})
}

func FuzzParseMySQLGTID(f *testing.F) {
	for _, s := range []string{uA + ":1", uA + ":Tag:9223372036854775806", uA + ":0", uA + ":1-2", " " + uA + " : 5 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseMySQLGTID(s)
		if err != nil {
			checkParseError(t, err, s)
			return
		}
		set, err := ParseMySQL(s)
		if err != nil || !set.Equal(g.AsSet()) || g.String() != set.String() {
			t.Fatalf("gtid %q is %v as a set (%v)", s, set, err)
		}
		if back, err := ParseMySQLGTID(g.String()); err != nil || back != g {
			t.Fatalf("round trip of %q: %v, %v", g, back, err)
		}
	})
}

func FuzzParseMariaDB(f *testing.F) {
	for i, s := range mariadbSeeds {
		f.Add(s, mariadbSeeds[(i+1)%len(mariadbSeeds)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, err := ParseMariaDB(a)
		if err != nil {
			checkParseError(t, err, a)
			return
		}
		sb, err := ParseMariaDB(b)
		if err != nil {
			checkParseError(t, err, b)
			sb = sa
		}
		checkMariaDBInvariants(t, sa, sb)
	})
}

func FuzzParseMariaDBGTID(f *testing.F) {
	for _, s := range []string{"0-1-100", " 1-2-3", " 1-2-3 ", "0-1", "4294967296-1-1", "0-1-18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseMariaDBGTID(s)
		if err != nil {
			checkParseError(t, err, s)
			return
		}
		if back, err := ParseMariaDBGTID(g.String()); err != nil || back != g {
			t.Fatalf("round trip of %q: %v, %v", g, back, err)
		}
		if set, err := ParseMariaDB(s); err != nil || !set.Equal(g.AsSet()) {
			t.Fatalf("gtid %q is %v as a set (%v)", s, set, err)
		}
	})
}

// FuzzParse covers the flavor-tagged entry points: Parse, ParseGTID and
// ParseAny must agree with the typed parsers.
func FuzzParse(f *testing.F) {
	for _, s := range append(slicesConcat(mysqlSeeds, mariadbSeeds), "  ", "xyz", uA) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fl := range []Flavor{MySQL, MariaDB} {
			set, err := Parse(s, fl)
			if err == nil && (set.Flavor() != fl || !roundTrips(set)) {
				t.Fatalf("Parse(%q, %s) = %v", s, fl, set)
			}
			if g, err := ParseGTID(s, fl); err == nil && (g.Flavor() != fl || !roundTrips(g) || g.IsEmpty()) {
				t.Fatalf("ParseGTID(%q, %s) = %v", s, fl, g)
			}
		}
		any, err := ParseAny(s)
		if err != nil {
			checkParseError(t, err, s)
			return
		}
		typed, err := Parse(s, any.Flavor())
		if err != nil || !typed.Equal(any) {
			t.Fatalf("ParseAny(%q) = %v (%s), Parse says %v, %v", s, any, any.Flavor(), typed, err)
		}
	})
}

func roundTrips(s Set) bool {
	back, err := Parse(s.String(), s.Flavor())
	return err == nil && back.Equal(s)
}

func slicesConcat(a, b []string) []string { return append(append([]string(nil), a...), b...) }

// FuzzMySQLModel lets the fuzzer drive the bitmap model of model_test.go,
// which reaches far more interval shapes than mutated text does.
func FuzzMySQLModel(f *testing.F) {
	f.Add(make([]byte, 8*19))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		words := make([]uint64, 19)
		for i := range words {
			var b [8]byte
			copy(b[:], data[min(len(data), i*8):])
			words[i] = binary.LittleEndian.Uint64(b[:])
		}
		base := uint64(1)
		if words[18]&1 == 1 {
			base = maxGNO - 63
		}
		ma, mb := mysqlModel{base: base}, mysqlModel{base: base}
		copy(ma.bits[:], words[:9])
		copy(mb.bits[:], words[9:18])
		checkAgainstModel(t, rand.New(rand.NewPCG(words[18], 0)), ma, mb)
	})
}
