package gtid

import (
	"fmt"
	"slices"
	"strconv"
)

// MariaDBGTID is one MariaDB GTID, domain-server-seq. Every combination of
// values is valid, so the fields are plain.
type MariaDBGTID struct {
	Domain uint32
	Server uint32
	Seq    uint64
}

// ParseMariaDBGTID reads "0-1-100" (@@last_gtid, BINLOG_GTID_POS()).
// Blanks may precede it, not follow it, as in ParseMariaDB.
func ParseMariaDBGTID(text string) (MariaDBGTID, error) {
	s := &scanner{kind: "mariadb gtid", text: text}
	s.skipSpace()
	g, err := s.mariadbGTID()
	if err != nil {
		return MariaDBGTID{}, err
	}
	if !s.eof() {
		reason := "expected end of gtid"
		if isSpace(s.peek()) {
			reason = blankAfterGTID
		}
		return MariaDBGTID{}, s.errorf(s.pos, reason)
	}
	return g, nil
}

// blankAfterGTID: the server's parser reads blanks before a GTID only.
const blankAfterGTID = "blank after a gtid, which the server refuses (\"Could not parse GTID list\")"

// mariadbGTID reads domain-server-seq with the bounds of
// gtid_parser_helper: 32-bit domain and server ids, 64-bit seq_no.
func (s *scanner) mariadbGTID() (MariaDBGTID, *ParseError) {
	var g MariaDBGTID
	d, err := s.number("domain id", maxUint32)
	if err != nil {
		return g, err
	}
	if !s.consume('-') {
		return g, s.errorf(s.pos, "expected '-' after domain id")
	}
	sv, err := s.number("server id", maxUint32)
	if err != nil {
		return g, err
	}
	if !s.consume('-') {
		return g, s.errorf(s.pos, "expected '-' after server id")
	}
	if g.Seq, err = s.number("sequence number", maxUint64); err != nil {
		return g, err
	}
	g.Domain, g.Server = uint32(d), uint32(sv)
	return g, nil
}

// String is "domain-server-seq".
func (g MariaDBGTID) String() string {
	b := make([]byte, 0, 32)
	return string(g.appendTo(b))
}

func (g MariaDBGTID) appendTo(b []byte) []byte {
	b = strconv.AppendUint(b, uint64(g.Domain), 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(g.Server), 10)
	b = append(b, '-')
	return strconv.AppendUint(b, g.Seq, 10)
}

// AsSet returns the position holding just g.
func (g MariaDBGTID) AsSet() MariaDBSet { return MariaDBSet{gtids: []MariaDBGTID{g}} }

// MariaDBSet is a MariaDB GTID position: at most one GTID per replication
// domain, the last one applied there, as in @@gtid_binlog_pos,
// @@gtid_current_pos, @@gtid_slave_pos and the argument of
// MASTER_GTID_WAIT. (@@gtid_binlog_state, which keeps one GTID per domain
// and server, is not such a position and does not parse.) The zero value
// is the empty position.
//
// A MariaDB position names the last transaction per domain, not a set of
// transactions: everything with a lower seq_no in that domain is implied.
// The operations below follow the server's reading of it.
type MariaDBSet struct {
	gtids []MariaDBGTID // sorted by Domain, unique; never modified
}

// ParseMariaDB reads "0-1-100,1-2-50" as the server does
// (gtid_parse_string_to_list): blanks may come before each GTID, not after
// one, so "0-1-5, 1-2-3" is read and "0-1-5 ,1-2-3", "0-1-5 " and " " are
// refused; MASTER_GTID_WAIT and SET GLOBAL gtid_slave_pos answer those with
// ERROR 1941 "Could not parse GTID list" (10.11, measured). The empty
// string is the empty position. A domain listed twice is an error, as SET
// GLOBAL gtid_slave_pos makes it (ER_DUP_GTID_DOMAIN).
func ParseMariaDB(text string) (MariaDBSet, error) {
	s := &scanner{kind: "mariadb gtid set", text: text}
	type parsed struct {
		g  MariaDBGTID
		at int
	}
	var list []parsed
	for text != "" {
		s.skipSpace()
		at := s.pos
		g, err := s.mariadbGTID()
		if err != nil {
			return MariaDBSet{}, err
		}
		list = append(list, parsed{g, at})
		if s.eof() {
			break
		}
		if !s.consume(',') {
			reason := "expected ',' or end of set"
			if isSpace(s.peek()) {
				reason = blankAfterGTID
			}
			return MariaDBSet{}, s.errorf(s.pos, reason)
		}
		if s.eof() {
			return MariaDBSet{}, s.errorf(s.pos, "expected a gtid after ','")
		}
	}
	slices.SortStableFunc(list, func(a, b parsed) int { return cmpDomain(a.g, b.g) })
	gtids := make([]MariaDBGTID, len(list))
	for i, p := range list {
		if i > 0 && p.g.Domain == gtids[i-1].Domain {
			reason := fmt.Sprintf("domain %d listed twice (%s and %s)", p.g.Domain, gtids[i-1], p.g)
			return MariaDBSet{}, s.errorf(p.at, reason)
		}
		gtids[i] = p.g
	}
	return MariaDBSet{gtids: gtids}, nil
}

// NewMariaDBSet builds a position from GTIDs, such as the rows of
// mysql.gtid_slave_pos reduced to one per domain. Two GTIDs in one domain
// are an error.
func NewMariaDBSet(gtids ...MariaDBGTID) (MariaDBSet, error) {
	own := slices.Clone(gtids)
	slices.SortFunc(own, cmpDomain)
	for i := 1; i < len(own); i++ {
		if own[i].Domain == own[i-1].Domain {
			return MariaDBSet{}, fmt.Errorf("mariadb gtid set: domain %d listed twice (%s and %s)", own[i].Domain, own[i-1], own[i])
		}
	}
	return MariaDBSet{gtids: own}, nil
}

func cmpDomain(a, b MariaDBGTID) int {
	switch {
	case a.Domain < b.Domain:
		return -1
	case a.Domain > b.Domain:
		return 1
	}
	return 0
}

// Flavor is MariaDB.
func (s MariaDBSet) Flavor() Flavor { return MariaDB }

// IsEmpty reports whether s has no domain.
func (s MariaDBSet) IsEmpty() bool { return len(s.gtids) == 0 }

// AsSet wraps s in a flavor-tagged Set.
func (s MariaDBSet) AsSet() Set { return Set{flavor: MariaDB, mariadb: s} }

// GTIDs returns the GTIDs of s, one per domain, in domain order. The slice
// is the caller's own.
func (s MariaDBSet) GTIDs() []MariaDBGTID { return slices.Clone(s.gtids) }

// Domain returns the GTID of s in domain d.
func (s MariaDBSet) Domain(d uint32) (MariaDBGTID, bool) {
	i, ok := slices.BinarySearchFunc(s.gtids, d, func(g MariaDBGTID, d uint32) int {
		return cmpDomain(g, MariaDBGTID{Domain: d})
	})
	if !ok {
		return MariaDBGTID{}, false
	}
	return s.gtids[i], true
}

// String is "0-1-100,1-2-50", domains in increasing order.
func (s MariaDBSet) String() string {
	b := make([]byte, 0, 24*len(s.gtids))
	for i, g := range s.gtids {
		if i > 0 {
			b = append(b, ',')
		}
		b = g.appendTo(b)
	}
	return string(b)
}

// Equal reports whether s and o list the same GTIDs, server ids included.
// Unlike Contains, it tells apart two positions with the same seq_no in a
// domain but different server ids: those are two different transactions,
// which is how diverged histories (an errant write on an old primary) show.
func (s MariaDBSet) Equal(o MariaDBSet) bool { return slices.Equal(s.gtids, o.gtids) }

// Contains reports whether s is at or past o in every domain of o: s has
// the domain with a seq_no >= o's, or o's seq_no there is 0 (nothing
// applied yet in that domain). Domains of s missing from o do not matter. This is the test MASTER_GTID_WAIT(o) waits for on a replica whose
// gtid_slave_pos is s ("waits until gtid_slave_pos has the same or higher
// seq_no within all replication domains specified in the gtid-list"). The
// server id is not compared: within a domain, seq_no alone orders
// transactions (gtid_strict_mode keeps it increasing), and the server id
// only records which primary wrote one, which changes at every switchover.
// The seq_no 0 rule is the server's: MASTER_GTID_WAIT('0-1-0', 0) and
// ('0-1-3,7-1-0', 0) return 0 (reached) on a replica at 0-1-5 with no
// domain 7, and ('7-1-1', 0) times out (10.11, measured).
func (s MariaDBSet) Contains(o MariaDBSet) bool {
	i := 0
	for _, og := range o.gtids {
		for i < len(s.gtids) && s.gtids[i].Domain < og.Domain {
			i++
		}
		if i == len(s.gtids) || s.gtids[i].Domain != og.Domain {
			if og.Seq != 0 {
				return false
			}
			continue
		}
		if s.gtids[i].Seq < og.Seq {
			return false
		}
	}
	return true
}

// Union returns, for every domain of s or o, the GTID with the higher
// seq_no: the position that Contains both. On a tie the GTID of s is kept.
func (s MariaDBSet) Union(o MariaDBSet) MariaDBSet {
	if len(o.gtids) == 0 {
		return s
	}
	if len(s.gtids) == 0 {
		return o
	}
	out := make([]MariaDBGTID, 0, len(s.gtids)+len(o.gtids))
	i, j := 0, 0
	for i < len(s.gtids) || j < len(o.gtids) {
		switch {
		case j == len(o.gtids) || (i < len(s.gtids) && s.gtids[i].Domain < o.gtids[j].Domain):
			out = append(out, s.gtids[i])
			i++
		case i == len(s.gtids) || o.gtids[j].Domain < s.gtids[i].Domain:
			out = append(out, o.gtids[j])
			j++
		default:
			g := s.gtids[i]
			if o.gtids[j].Seq > g.Seq {
				g = o.gtids[j]
			}
			out = append(out, g)
			i++
			j++
		}
	}
	return MariaDBSet{gtids: out}
}

// Subtract returns the GTIDs of s in the domains where s is ahead of o: the
// domain is missing from o and s's seq_no there is not 0, or s has a higher
// seq_no there. It is "what s
// has that o lacks" at domain granularity, which is what an errant-
// transaction check needs: replica.Subtract(primary) is empty exactly when
// primary.Contains(replica). A MariaDB position cannot say which
// transactions lie between two seq_nos, so the result names the last one
// of each such domain, not a range.
func (s MariaDBSet) Subtract(o MariaDBSet) MariaDBSet {
	var out []MariaDBGTID
	j := 0
	for _, g := range s.gtids {
		for j < len(o.gtids) && o.gtids[j].Domain < g.Domain {
			j++
		}
		missing := j == len(o.gtids) || o.gtids[j].Domain != g.Domain
		if (missing && g.Seq != 0) || (!missing && g.Seq > o.gtids[j].Seq) {
			out = append(out, g)
		}
	}
	return MariaDBSet{gtids: out}
}
