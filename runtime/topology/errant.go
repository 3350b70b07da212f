package topology

import (
	"fmt"
	"slices"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// Errant transactions are transactions a server has and the primary does
// not: a write made on a replica, or history left on an old primary. A
// server with them must not be promoted (the other replicas would never get
// them, or would fail on them), and MariaDB refuses it as a replica once
// the primary has moved past them (error 1236, "not in the master's
// binlog").
//
// Every check compares a server with the primary's GTID state read after
// the server's own (Discover reads the primary's GTIDs again at the end):
// whatever the server received from the primary, the primary had by then,
// so a transaction committed on the primary between the two reads is
// never mistaken for an errant one.
//
// MySQL: errant = server's gtid_executed minus the primary's gtid_executed.
//
// MariaDB positions name only the last GTID per domain, so set arithmetic
// is not enough. The primary "has" a GTID d-s-n when its gtid_binlog_state
// (the last seq_no per domain AND server_id in its binary log) has d-s-m
// with m >= n, or one of its positions (gtid_binlog_pos, gtid_slave_pos,
// gtid_current_pos) is d-s-m with m >= n (applied as a replica, perhaps
// without log_slave_updates, or restored from a backup). A GTID the primary
// does not have is errant when it is:
//
//  1. in one of the server's positions (gtid_binlog_pos, gtid_slave_pos,
//     gtid_current_pos): the server stands there, so it is either past the
//     primary in that domain (the primary's highest seq_no there is lower)
//     or on a diverged branch (the primary went past seq_no n without ever
//     having d-s-n). This is the test the primary itself applies when the
//     server connects as a replica.
//  2. in the server's gtid_binlog_state, which also remembers GTIDs that are
//     no longer the last of their domain (a write on a replica in a
//     non-strict domain, after which replication went on), when
//     (a) the primary's binary log has server_id s in domain d only up to
//     m < n: it got s's earlier transactions and not this one; or
//     (b) the primary's binary log has nothing from s in domain d, and s
//     is the primary's server_id (it lost binlog events in a crash, or
//     another server reused its server_id) or the server's own (it wrote
//     it itself), the latter only when the primary logs what it
//     replicates (log_slave_updates).
//
// Likewise, the "diverged branch" case of rule 1 needs the primary's
// log_slave_updates unless s is the primary's own server_id: without it the
// primary's binary log only holds its own writes.
//
// Not reported: an old GTID of a third server_id that the primary's binary
// log lacks altogether. The primary's binlog state forgets history at
// RESET MASTER or when restored from a backup, so such a GTID cannot be
// told from shared history; when it is the last of its domain, rule 1
// still reports it.
func (f *finder) errant() {
	for _, n := range f.t.nodes {
		n.Errant = "" // New may analyse the same nodes again
	}
	p := f.t.primary
	if p == nil {
		return
	}
	if !p.Reachable() {
		f.peerErrant(p)
		return
	}
	for _, n := range f.t.nodes {
		if n == p || !n.Reachable() || n.Outside || n.Flavor.Kind != p.Flavor.Kind {
			continue
		}
		var gtids, why []string
		if n.Flavor.IsMariaDB() {
			gtids, why = mariadbErrant(n, p)
		} else {
			gtids, why = mysqlErrant(n, p)
		}
		if len(gtids) == 0 {
			continue
		}
		n.Errant = strings.Join(gtids, ",")
		f.add(SeverityError, KindErrant, n, "has transactions the primary %s does not: %s (%s); "+
			"it must not be promoted: rebuild it from %s, or, if its data is right, apply them on %s "+
			"(find them with mysqlbinlog/mariadb-binlog on its binary log)",
			p.Name, n.Errant, strings.Join(why, "; "), p.Name, p.Name)
	}
}

// peerErrant looks for errant transactions when the primary cannot be
// read, as in a failover: its direct replicas are compared with each
// other. A transaction a replica wrote itself (its own server_id or
// server_uuid) that no other replica of the primary has did not come
// from the primary: promoting that replica would hand it to the others,
// or break them on it. The replicas' other differences are lag, which the
// ranking sorts out.
func (f *finder) peerErrant(p *Node) {
	var group []*Node
	for _, n := range p.Replicas {
		if n.Reachable() && !n.Outside && (len(group) == 0 || n.Flavor.Kind == group[0].Flavor.Kind) {
			group = append(group, n)
		}
	}
	for _, n := range group {
		var peers []*Node
		for _, o := range group {
			if o != n {
				peers = append(peers, o)
			}
		}
		var gtids []string
		if n.Flavor.IsMariaDB() {
			gtids = mariadbOwnWrites(n, peers)
		} else {
			gtids = mysqlOwnWrites(n, peers)
		}
		if len(gtids) == 0 {
			continue
		}
		n.Errant = strings.Join(gtids, ",")
		f.add(SeverityError, KindErrant, n, "has transactions written on itself that no other replica of %s "+
			"has: %s; it must not be promoted: rebuild it, or, if its data is right, apply them on the new "+
			"primary after the failover", p.Name, n.Errant)
	}
}

// mariadbOwnWrites lists the GTIDs of n's own server_id that no peer has.
// A write n made while it was the primary, long ago, is in every peer's
// binary log too (log_slave_updates), unless the peer was cloned since;
// and it precedes what n applied as a replica afterwards. So where seq_no
// order can be trusted (strict mode) or nothing else can be compared (no
// peer), only an own write past n's gtid_slave_pos counts: it came after
// everything the primary sent. Without strict mode and with peers, an own
// write buried under later replicated transactions is reported too: the
// peers got those transactions and not it.
func mariadbOwnWrites(n *Node, peers []*Node) []string {
	strict := n.GTIDStrictMode != nil && *n.GTIDStrictMode
	slave, _ := n.GTIDSlavePos.MariaDB()
	var out []string
	for _, g := range n.BinlogState {
		if uint64(g.Server) != n.ServerID {
			continue
		}
		if strict || len(peers) == 0 {
			if h, ok := slave.Domain(g.Domain); ok && h.Seq >= g.Seq {
				continue
			}
		}
		had := false
		for _, o := range peers {
			if m, ok := o.BinlogState.Last(g.Domain, g.Server); ok && m >= g.Seq {
				had = true
			}
			for _, pos := range []gtid.Set{o.GTIDBinlogPos, o.GTIDSlavePos, o.GTIDCurrentPos} {
				set, _ := pos.MariaDB()
				if h, ok := set.Domain(g.Domain); ok && h.Server == g.Server && h.Seq >= g.Seq {
					had = true
				}
			}
		}
		if !had {
			out = append(out, g.String())
		}
	}
	return out
}

func mysqlOwnWrites(n *Node, peers []*Node) []string {
	if n.ServerUUID == "" || n.GTIDExecuted.Flavor() != gtid.MySQL {
		return nil
	}
	rest := n.GTIDExecuted
	for _, o := range peers {
		if o.GTIDExecuted.Flavor() != gtid.MySQL {
			return nil // a peer's GTIDs were not read: nothing to compare with
		}
		var err error
		if rest, err = rest.Subtract(o.GTIDExecuted); err != nil {
			return nil
		}
	}
	var out []string
	for _, part := range strings.Split(rest.String(), ",") {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(part)), strings.ToLower(n.ServerUUID)+":") {
			out = append(out, strings.TrimSpace(part))
		}
	}
	return out
}

func mysqlErrant(n, p *Node) (gtids, why []string) {
	if n.GTIDExecuted.Flavor() != gtid.MySQL || p.GTIDExecuted.Flavor() != gtid.MySQL {
		return nil, nil // GTIDs were not read
	}
	extra, err := n.GTIDExecuted.Subtract(p.GTIDExecuted)
	if err != nil || extra.IsEmpty() {
		return nil, nil
	}
	return []string{extra.String()}, []string{"in its gtid_executed, not in " + p.Name + "'s"}
}

// mariadbErrant applies rules 1 and 2 above; it returns each errant GTID
// once, with the reason in terms of the two servers' state.
func mariadbErrant(n, p *Node) (gtids, why []string) {
	pb, _ := p.GTIDBinlogPos.MariaDB()
	ps, _ := p.GTIDSlavePos.MariaDB()
	pc, _ := p.GTIDCurrentPos.MariaDB()
	reach := pb.Union(ps).Union(pc)
	has := func(g gtid.MariaDBGTID) bool {
		if m, ok := p.BinlogState.Last(g.Domain, g.Server); ok && m >= g.Seq {
			return true
		}
		for _, pos := range []gtid.MariaDBSet{pb, ps, pc} {
			if h, ok := pos.Domain(g.Domain); ok && h.Server == g.Server && h.Seq >= g.Seq {
				return true
			}
		}
		return false
	}
	seen := map[[2]uint32]bool{}
	report := func(g gtid.MariaDBGTID, reason string) {
		seen[[2]uint32{g.Domain, g.Server}] = true
		gtids = append(gtids, g.String())
		why = append(why, g.String()+": "+reason)
	}
	for _, pos := range []gtid.Set{n.GTIDBinlogPos, n.GTIDSlavePos, n.GTIDCurrentPos} {
		set, _ := pos.MariaDB()
		for _, g := range set.GTIDs() {
			if has(g) || seen[[2]uint32{g.Domain, g.Server}] {
				continue
			}
			if reason := positionReason(g, reach, p); reason != "" {
				report(g, reason)
			}
		}
	}
	for _, g := range n.BinlogState {
		if has(g) || seen[[2]uint32{g.Domain, g.Server}] {
			continue
		}
		if reason := historyReason(g, n, p); reason != "" {
			report(g, reason)
		}
	}
	return gtids, why
}

func positionReason(g gtid.MariaDBGTID, reach gtid.MariaDBSet, p *Node) string {
	top, ok := reach.Domain(g.Domain)
	switch {
	case !ok:
		return fmt.Sprintf("domain %d, which %s has never seen", g.Domain, p.Name)
	case top.Seq < g.Seq:
		return fmt.Sprintf("past %s, which is at %s in domain %d", p.Name, top, g.Domain)
	case !logsEverything(p) && uint64(g.Server) != p.ServerID:
		return "" // its binary log cannot say what it applied
	}
	return fmt.Sprintf("%s is at %s and never had it: the histories diverged", p.Name, top)
}

// logsEverything reports whether a server's binary log records what it
// replicates as well as its own writes, so that its gtid_binlog_state
// covers its whole history (since its last RESET MASTER).
func logsEverything(n *Node) bool { return n.LogBin && n.LogReplicaUpdates }

func historyReason(g gtid.MariaDBGTID, n, p *Node) string {
	if m, ok := p.BinlogState.Last(g.Domain, g.Server); ok {
		return fmt.Sprintf("%s's binary log has server_id %d's transactions in domain %d only up to seq %d",
			p.Name, g.Server, g.Domain, m)
	}
	switch uint64(g.Server) {
	case p.ServerID:
		return fmt.Sprintf("carries %s's own server_id, which its binary log lacks in domain %d: "+
			"it lost binlog events, or another server used server_id %d", p.Name, g.Domain, g.Server)
	case n.ServerID:
		if !logsEverything(p) || beforeBinlog(g, n, p) {
			return ""
		}
		return fmt.Sprintf("written on %s itself, and %s's binary log has nothing from server_id %d in domain %d",
			n.Name, p.Name, g.Server, g.Domain)
	}
	return ""
}

// beforeBinlog reports whether g may predate the primary's binary log: a
// server restored from a backup or cloned (RESET MASTER, then
// gtid_slave_pos set to the image's position) starts its binary log at its
// gtid_slave_pos, so its binlog state lacks every server_id of the history
// before that point. A replica's own old write (from when it was the
// primary) then looks like rule 2(b)'s errant write. Only gtid_strict_mode
// on the replica tells the two apart: it refuses to apply a transaction
// whose seq_no is not above the last one in its binary log, so a local
// write with seq_no n cannot have been followed by replicated transactions
// at or below n. Without strict mode the write is reported (fail closed).
func beforeBinlog(g gtid.MariaDBGTID, n, p *Node) bool {
	if n.GTIDStrictMode == nil || !*n.GTIDStrictMode {
		return false
	}
	ps, _ := p.GTIDSlavePos.MariaDB()
	h, ok := ps.Domain(g.Domain)
	return ok && h.Seq >= g.Seq
}

// BinlogState is MariaDB's gtid_binlog_state: for every (domain, server_id)
// pair in the binary log, the GTID with the highest seq_no ("0-1-100,
// 0-2-40"). Unlike a position it can list a domain several times, which
// gtid.ParseMariaDB rejects.
type BinlogState []gtid.MariaDBGTID

// ParseBinlogState reads gtid_binlog_state text; "" is the empty state.
func ParseBinlogState(text string) (BinlogState, error) {
	var out BinlogState
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			if strings.TrimSpace(text) == "" {
				break
			}
			return nil, fmt.Errorf("binlog state %q: empty element", text)
		}
		g, err := gtid.ParseMariaDBGTID(part)
		if err != nil {
			return nil, err
		}
		if _, dup := out.Last(g.Domain, g.Server); dup {
			return nil, fmt.Errorf("binlog state %q: domain %d, server_id %d listed twice", text, g.Domain, g.Server)
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b gtid.MariaDBGTID) int {
		if a.Domain != b.Domain {
			return cmpUint(uint64(a.Domain), uint64(b.Domain))
		}
		return cmpUint(uint64(a.Server), uint64(b.Server))
	})
	return out, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Last is the highest seq_no of server_id srv in domain d.
func (b BinlogState) Last(d, srv uint32) (uint64, bool) {
	for _, g := range b {
		if g.Domain == d && g.Server == srv {
			return g.Seq, true
		}
	}
	return 0, false
}

// String is the text MariaDB prints, domains then server_ids in order.
func (b BinlogState) String() string {
	s := make([]string, len(b))
	for i, g := range b {
		s[i] = g.String()
	}
	return strings.Join(s, ",")
}
