package gtid

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// mysqlModel is a MySQL GTID set over a small universe, as bitmaps: for
// each of 3 UUIDs x 3 tags, bit i stands for sequence number base+i. The
// operations on it are plain bit operations, so it checks the interval
// code without sharing any of it.
type mysqlModel struct {
	base uint64
	bits [9]uint64
}

var (
	modelUUIDs = []string{uC, uA, uB} // not in order, on purpose
	modelTags  = []string{"", "Beta", "alpha"}
)

func (m mysqlModel) key(k int) (uuid, tag string) { return modelUUIDs[k/3], modelTags[k%3] }

// text writes m as a GTID set in a shuffled, uncanonical way: elements in
// random order, some split or with runs broken in two, mixed case.
func (m mysqlModel) text(r *rand.Rand) string {
	var elems []string
	for k, word := range m.bits {
		uuid, tag := m.key(k)
		for word != 0 {
			lo := bits.TrailingZeros64(word)
			hi := lo + bits.TrailingZeros64(^(word >> lo)) - 1
			if hi > lo && r.IntN(3) == 0 { // split a run into two intervals
				mid := lo + r.IntN(hi-lo)
				elems = append(elems, element(uuid, tag, m.base+uint64(lo), m.base+uint64(mid)))
				lo = mid + 1
			}
			elems = append(elems, element(uuid, tag, m.base+uint64(lo), m.base+uint64(hi)))
			word &^= (^uint64(0) >> (63 - hi)) &^ (1<<lo - 1)
		}
	}
	r.Shuffle(len(elems), func(i, j int) { elems[i], elems[j] = elems[j], elems[i] })
	if r.IntN(2) == 0 {
		return strings.Join(elems, ",\n")
	}
	return strings.ToUpper(strings.Join(elems, ","))
}

func element(uuid, tag string, lo, hi uint64) string {
	s := uuid
	if tag != "" {
		s += ":" + tag
	}
	if lo == hi {
		return fmt.Sprintf("%s:%d", s, lo)
	}
	return fmt.Sprintf("%s:%d-%d", s, lo, hi)
}

// canonical is what MySQLSet.String must print for m.
func (m mysqlModel) canonical() string {
	sorted := slices.Clone(modelUUIDs)
	slices.Sort(sorted)
	var out []string
	for _, uuid := range sorted {
		k := slices.Index(modelUUIDs, uuid) * 3
		elem := ""
		for _, ti := range []int{0, 2, 1} { // "", "alpha", "beta"
			word := m.bits[k+ti]
			if word == 0 {
				continue
			}
			if ti != 0 {
				elem += ":" + strings.ToLower(modelTags[ti])
			}
			for i := 0; i < 64; i++ {
				if word&(1<<i) == 0 || (i > 0 && word&(1<<(i-1)) != 0) {
					continue
				}
				j := i
				for j < 63 && word&(1<<(j+1)) != 0 {
					j++
				}
				elem += ":" + strings.TrimPrefix(element("", "", m.base+uint64(i), m.base+uint64(j)), ":")
			}
		}
		if elem != "" {
			out = append(out, uuid+elem)
		}
	}
	return strings.Join(out, ",")
}

func (m mysqlModel) op(o mysqlModel, f func(a, b uint64) uint64) mysqlModel {
	out := mysqlModel{base: m.base}
	for k := range m.bits {
		out.bits[k] = f(m.bits[k], o.bits[k])
	}
	return out
}

func (m mysqlModel) contains(o mysqlModel) bool {
	return o.op(m, func(a, b uint64) uint64 { return a &^ b }).bits == [9]uint64{}
}

// randomBase picks sequence numbers near 1 or near maxGNO, where off-by-one
// and overflow bugs live.
func randomBase(r *rand.Rand) uint64 {
	if r.IntN(4) == 0 {
		return maxGNO - 63
	}
	return 1
}

func randomModel(r *rand.Rand, base uint64) mysqlModel {
	m := mysqlModel{base: base}
	for k := range m.bits {
		switch r.IntN(4) {
		case 0: // empty
		case 1:
			m.bits[k] = r.Uint64() & r.Uint64()
		default:
			m.bits[k] = r.Uint64()
		}
	}
	return m
}

func checkAgainstModel(t testing.TB, r *rand.Rand, ma, mb mysqlModel) {
	t.Helper()
	a, b := mustMySQL(t, ma.text(r)), mustMySQL(t, mb.text(r))
	if a.String() != ma.canonical() {
		t.Fatalf("parse: got %s\nwant %s", a, ma.canonical())
	}
	union := ma.op(mb, func(x, y uint64) uint64 { return x | y })
	minus := ma.op(mb, func(x, y uint64) uint64 { return x &^ y })
	if got := a.Union(b).String(); got != union.canonical() {
		t.Fatalf("union: got %s\nwant %s", got, union.canonical())
	}
	if got := a.Subtract(b).String(); got != minus.canonical() {
		t.Fatalf("subtract: got %s\nwant %s", got, minus.canonical())
	}
	if a.Contains(b) != ma.contains(mb) || a.Equal(b) != (ma.bits == mb.bits) {
		t.Fatalf("contains/equal of %s and %s", a, b)
	}
	checkMySQLInvariants(t, a, b)
}

func TestMySQLAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < iterations(1000); i++ {
		base := randomBase(r)
		ma := randomModel(r, base)
		mb := randomModel(r, base)
		if i%5 == 0 { // make containment likely
			mb = ma.op(mb, func(x, y uint64) uint64 { return x & y })
		}
		checkAgainstModel(t, r, ma, mb)
	}
}

func randomMariaDB(r *rand.Rand) MariaDBSet {
	var gtids []MariaDBGTID
	for d := uint32(0); d < 5; d++ {
		if r.IntN(3) == 0 {
			continue
		}
		gtids = append(gtids, MariaDBGTID{Domain: d * 1000, Server: uint32(r.IntN(3)), Seq: uint64(r.IntN(5))})
	}
	s, err := NewMariaDBSet(gtids...)
	if err != nil {
		panic(err)
	}
	return s
}

func TestMariaDBAgainstDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < iterations(2000); i++ {
		a, b := randomMariaDB(r), randomMariaDB(r)
		contains, union, minus := true, map[uint32]MariaDBGTID{}, map[uint32]MariaDBGTID{}
		for _, g := range b.gtids {
			ag, ok := a.Domain(g.Domain)
			contains = contains && ((ok && ag.Seq >= g.Seq) || (!ok && g.Seq == 0))
			union[g.Domain] = g
		}
		for _, g := range a.gtids {
			bg, ok := b.Domain(g.Domain)
			if !ok || g.Seq >= bg.Seq {
				union[g.Domain] = g
			}
			if (!ok && g.Seq != 0) || (ok && g.Seq > bg.Seq) {
				minus[g.Domain] = g
			}
		}
		if a.Contains(b) != contains || !sameGTIDs(a.Union(b), union) || !sameGTIDs(a.Subtract(b), minus) {
			t.Fatalf("%s and %s: contains %v union %s minus %s", a, b, a.Contains(b), a.Union(b), a.Subtract(b))
		}
		checkMariaDBInvariants(t, a, b)
	}
}

func sameGTIDs(s MariaDBSet, want map[uint32]MariaDBGTID) bool {
	if len(s.gtids) != len(want) {
		return false
	}
	for _, g := range s.gtids {
		if want[g.Domain] != g {
			return false
		}
	}
	return true
}

// iterations keeps -short runs (and -race under CI) quick; the fuzz
// targets explore further.
func iterations(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}
