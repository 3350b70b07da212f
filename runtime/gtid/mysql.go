package gtid

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// maxGNO is the largest sequence number MySQL accepts: parse_gno rejects
// LLONG_MAX and GNO_END (exclusive) is INT64_MAX, so a GNO is 1..2^63-2.
const maxGNO = 1<<63 - 2

// tsid is MySQL's "transaction source id": a UUID and an optional tag.
// Untagged GTIDs have tag "". Tags are stored lower case.
type tsid struct {
	uuid UUID
	tag  string
}

// compare orders tsids as MySQL prints them (Tsid operator<): by UUID
// bytes, then by tag, the untagged one first.
func (k tsid) compare(o tsid) int {
	if c := bytes.Compare(k.uuid[:], o.uuid[:]); c != 0 {
		return c
	}
	return strings.Compare(k.tag, o.tag)
}

type mysqlEntry struct {
	key tsid
	ivs []interval // normalized, never empty
}

// MySQLSet is a MySQL GTID set (@@gtid_executed, Retrieved_Gtid_Set, the
// argument of WAIT_FOR_EXECUTED_GTID_SET), with the tagged GTIDs of MySQL
// 8.3 and later. The zero value is the empty set.
//
// A set is kept canonical: entries sorted by UUID then tag, each with
// sorted, merged, non-empty intervals. Two sets holding the same GTIDs are
// therefore Equal and print the same String.
type MySQLSet struct {
	// entries is never modified after construction; results of Union and
	// Subtract may share interval slices with their operands.
	entries []mysqlEntry
}

// Flavor is MySQL.
func (s MySQLSet) Flavor() Flavor { return MySQL }

// IsEmpty reports whether s holds no GTID.
func (s MySQLSet) IsEmpty() bool { return len(s.entries) == 0 }

// AsSet wraps s in a flavor-tagged Set.
func (s MySQLSet) AsSet() Set { return Set{flavor: MySQL, mysql: s} }

// String is the canonical text: lower-case UUIDs in order, tags after the
// untagged intervals of their UUID ("uuid:1-5:tag1:1-3:tag2:7"), UUIDs
// separated by "," (MySQL prints ",\n"; ParseMySQL accepts both).
func (s MySQLSet) String() string {
	if len(s.entries) == 0 {
		return ""
	}
	b := make([]byte, 0, 64*len(s.entries))
	for i, e := range s.entries {
		if i == 0 || e.key.uuid != s.entries[i-1].key.uuid {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.key.uuid.appendTo(b)
		}
		if e.key.tag != "" {
			b = append(b, ':')
			b = append(b, e.key.tag...)
		}
		for _, iv := range e.ivs {
			b = append(b, ':')
			b = strconv.AppendUint(b, iv.start, 10)
			if iv.end != iv.start {
				b = append(b, '-')
				b = strconv.AppendUint(b, iv.end, 10)
			}
		}
	}
	return string(b)
}

// Equal reports whether s and o hold the same GTIDs.
func (s MySQLSet) Equal(o MySQLSet) bool {
	return slices.EqualFunc(s.entries, o.entries, func(a, b mysqlEntry) bool {
		return a.key == b.key && slices.Equal(a.ivs, b.ivs)
	})
}

// Contains reports whether every GTID of o is also in s (o is a subset of
// s), the test WAIT_FOR_EXECUTED_GTID_SET waits for.
func (s MySQLSet) Contains(o MySQLSet) bool {
	i := 0
	for _, oe := range o.entries {
		for i < len(s.entries) && s.entries[i].key.compare(oe.key) < 0 {
			i++
		}
		if i == len(s.entries) || s.entries[i].key != oe.key {
			return false
		}
		if !containsIntervals(s.entries[i].ivs, oe.ivs) {
			return false
		}
	}
	return true
}

// Union returns the GTIDs that are in s, in o, or in both.
func (s MySQLSet) Union(o MySQLSet) MySQLSet {
	if len(o.entries) == 0 {
		return s
	}
	if len(s.entries) == 0 {
		return o
	}
	out := make([]mysqlEntry, 0, len(s.entries)+len(o.entries))
	i, j := 0, 0
	for i < len(s.entries) || j < len(o.entries) {
		c := compareAt(s.entries, i, o.entries, j)
		switch {
		case c < 0:
			out = append(out, s.entries[i])
			i++
		case c > 0:
			out = append(out, o.entries[j])
			j++
		default:
			ivs := unionIntervals(s.entries[i].ivs, o.entries[j].ivs)
			out = append(out, mysqlEntry{key: s.entries[i].key, ivs: ivs})
			i++
			j++
		}
	}
	return MySQLSet{entries: out}
}

// Subtract returns the GTIDs of s that are not in o, as GTID_SUBTRACT(s, o)
// does: on a replica, replica.Subtract(primary) is its errant transactions.
func (s MySQLSet) Subtract(o MySQLSet) MySQLSet {
	if len(o.entries) == 0 || len(s.entries) == 0 {
		return s
	}
	var out []mysqlEntry
	j := 0
	for _, se := range s.entries {
		for j < len(o.entries) && o.entries[j].key.compare(se.key) < 0 {
			j++
		}
		if j == len(o.entries) || o.entries[j].key != se.key {
			out = append(out, se)
			continue
		}
		if ivs := subtractIntervals(se.ivs, o.entries[j].ivs); len(ivs) > 0 {
			out = append(out, mysqlEntry{key: se.key, ivs: ivs})
		}
	}
	return MySQLSet{entries: out}
}

// compareAt compares a[i] with b[j] for a merge walk; a missing side sorts
// last.
func compareAt(a []mysqlEntry, i int, b []mysqlEntry, j int) int {
	switch {
	case i == len(a):
		return 1
	case j == len(b):
		return -1
	}
	return a[i].key.compare(b[j].key)
}

// normalizeEntries sorts parsed entries by tsid, joins the intervals of
// repeated tsids ("uuid:1,uuid:3" is legal) and normalizes each list. It
// reuses entries, which the parser owns.
func normalizeEntries(entries []mysqlEntry) []mysqlEntry {
	if len(entries) == 0 {
		return nil
	}
	slices.SortStableFunc(entries, func(a, b mysqlEntry) int { return a.key.compare(b.key) })
	out := entries[:0]
	for _, e := range entries {
		if n := len(out); n > 0 && out[n-1].key == e.key {
			// Concat copies: the parser's interval slices share one array.
			out[n-1].ivs = slices.Concat(out[n-1].ivs, e.ivs)
			continue
		}
		out = append(out, e)
	}
	for i := range out {
		out[i].ivs = normalizeIntervals(out[i].ivs)
	}
	return out
}
