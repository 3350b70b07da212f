package topology

import (
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// deadPrimary is db1 down and its two replicas reconnecting to it, as
// after a kill -9: receivers "Connecting" with error 2003.
func deadPrimary(t *testing.T) (db1, db2, db3 *Node) {
	db1 = unreachable(writable(mariadb("db1", 23306, 1)))
	db2 = same(t, replicaOf(mariadb("db2", 23307, 2), db1), "0-1-42", "0-1-42")
	db3 = same(t, replicaOf(mariadb("db3", 23308, 3), db1), "0-1-42", "0-1-42")
	for _, r := range []*Node{db2, db3} {
		r.Replica.IORunning, r.Replica.IOThread = false, "Connecting"
		r.Replica.LastIOErrno, r.Replica.LastIOError = 2003, "error reconnecting to master"
	}
	return db1, db2, db3
}

func TestPrimaryVerdict(t *testing.T) {
	cases := []struct {
		name   string
		change func(db1, db2, db3 *Node)
		want   PrimaryState
		reason string
	}{
		{name: "dead: refused to the tool and to every receiver", want: PrimaryDead,
			reason: "no replica's receiver is connected"},
		{name: "wrong password: the server answered the tool", want: PrimaryUnreachable,
			change: func(db1, _, _ *Node) {
				db1.Err = &server.Error{Op: "connect", Code: 1045, Message: "Access denied for user 'replicant'"}
			}, reason: "it answers, with an error: "},
		{name: "too many connections", want: PrimaryUnreachable,
			change: func(db1, _, _ *Node) {
				db1.Err = &server.Error{Op: "connect", Code: 1040, Message: "Too many connections"}
			}, reason: "Too many connections"},
		{name: "a receiver still connected (the tool's own path failed)", want: PrimaryUnreachable,
			change: func(_, _, db3 *Node) {
				db3.Replica.IORunning, db3.Replica.IOThread, db3.Replica.LastIOErrno = true, "Yes", 0
			}, reason: "the receiver of db3 is connected to it"},
		{name: "a receiver refused by the primary itself", want: PrimaryUnreachable,
			change: func(_, db2, _ *Node) {
				db2.Replica.LastIOErrno, db2.Replica.LastIOError = 1045, "Access denied for user 'repl'"
			}, reason: "db2 (its source answered with error 1045)"},
		{name: "a receiver stopped by hand counts as not connected", want: PrimaryDead,
			change: func(_, db2, _ *Node) {
				db2.Replica.IOThread, db2.Replica.LastIOErrno = "No", 0
			}},
		{name: "an unreachable replica cannot vouch either way", want: PrimaryDead,
			change: func(_, _, db3 *Node) { unreachable(db3) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db1, db2, db3 := deadPrimary(t)
			if c.change != nil {
				c.change(db1, db2, db3)
			}
			top := New([]*Node{db1, db2, db3}, Options{})
			v := top.PrimaryVerdict()
			if v.State != c.want || v.Primary != db1 || !strings.Contains(v.Reason, c.reason) {
				t.Errorf("verdict %s %q, want %s with %q\n%s", v.State, v.Reason, c.want, c.reason, top)
			}
		})
	}
}

func TestPrimaryVerdictAliveAndNone(t *testing.T) {
	_, _, _, top := healthy(t)
	if v := top.PrimaryVerdict(); v.State != PrimaryAlive {
		t.Errorf("healthy: %s %q", v.State, v.Reason)
	}
	a := writable(same(t, mariadb("a", 1, 1), "0-1-1", "0-1-1"))
	b := writable(same(t, mariadb("b", 2, 2), "0-2-1", "0-2-1"))
	if v := New([]*Node{a, b}, Options{}).PrimaryVerdict(); v.State != PrimaryNone || v.Primary != nil {
		t.Errorf("two writable roots: %s %v", v.State, v.Primary)
	}
}

func TestBystanders(t *testing.T) {
	db1 := same(t, writable(mariadb("db1", 1, 1)), "0-1-42", "0-1-42")
	mk := func(name string, port int) *Node {
		return same(t, replicaOf(mariadb(name, port, uint64(port)), db1), "0-1-42", "0-1-42")
	}
	cand, fine, rw, broken := mk("cand", 2), mk("fine", 3), mk("rw", 4), mk("broken", 5)
	writable(rw)
	broken.Replica.SQLRunning, broken.Replica.SQLThread = false, "No"
	broken.Replica.LastSQLErrno, broken.Replica.LastSQLError = 1062, "Duplicate entry"
	down := unreachable(mariadb("down", 6, 6))
	relayed := same(t, replicaOf(mariadb("relayed", 7, 7), fine), "0-1-42", "0-1-42")
	spare := same(t, mariadb("spare", 8, 8), "0-1-42", "0-1-42")
	top := New([]*Node{db1, cand, fine, rw, broken, down, relayed, spare}, Options{})
	bs := top.Bystanders(db1, cand, func(n *Node) bool { return n == down })
	got := map[string]Bystander{}
	for _, b := range bs {
		got[b.Node.Name] = b
	}
	if len(got) != 4 {
		t.Fatalf("bystanders %v: want fine, rw, broken, down (not relayed under fine, not the spare)", bs)
	}
	if len(got["fine"].Problems) != 0 {
		t.Errorf("fine: %v", got["fine"].Problems)
	}
	for name, want := range map[string]string{
		"rw":     "writable (read_only OFF)",
		"broken": "replication is not running (io Yes, sql No): error 1062: Duplicate entry",
		"down":   "unreachable: dial tcp",
	} {
		if p := strings.Join(got[name].Problems, "; "); !strings.Contains(p, want) {
			t.Errorf("%s: problems %q lack %q", name, p, want)
		}
	}
	if !got["down"].Skipped || got["rw"].Skipped {
		t.Errorf("skip: down %v rw %v", got["down"].Skipped, got["rw"].Skipped)
	}
}

// A failover compares the dead primary's replicas with each other: a
// write that db3 made itself and nobody else has (strict mode off, buried
// under later replicated transactions) excludes it.
func TestPeerErrantWithDeadPrimary(t *testing.T) {
	db1, db2, db3 := deadPrimary(t)
	mariaGTIDs(t, db2, "0-1-42", "0-1-42", "0-1-42", "0-1-42")
	mariaGTIDs(t, db3, "0-1-42", "0-1-42", "0-1-42", "0-1-42,0-3-7")
	top := New([]*Node{db1, db2, db3}, Options{})
	if db3.Errant != "0-3-7" || db2.Errant != "" {
		t.Fatalf("errant db2 %q db3 %q\n%s", db2.Errant, db3.Errant, top)
	}
	if pr := problemOf(t, top, KindErrant); pr.Node != db3 || !strings.Contains(pr.Message, "written on itself") {
		t.Errorf("problem %s", pr)
	}
	cs := top.Candidates(CandidateOptions{})
	if order(cs) != "db2:1 db3:-" || !strings.Contains(reasonsOf(cs, "db3"), "errant transactions 0-3-7") {
		t.Errorf("candidates %s: %s", order(cs), reasonsOf(cs, "db3"))
	}
	// A write of db3's that db2 has too is shared history (db3 was the
	// primary once), not errant.
	mariaGTIDs(t, db2, "0-1-42", "0-1-42", "0-1-42", "0-1-42,0-3-7")
	if top := New([]*Node{db1, db2, db3}, Options{}); db3.Errant != "" {
		t.Errorf("shared history called errant: %q\n%s", db3.Errant, top)
	}
}

// Diverged replicas of a dead primary: the less advanced one that has
// something the most advanced lacks is excluded, named with what it has.
func TestCandidatesDiverged(t *testing.T) {
	db1, db2, db3 := deadPrimary(t)
	mariaGTIDs(t, db2, "0-1-50", "0-1-50", "0-1-50", "0-1-50")
	mariaGTIDs(t, db3, "1-1-3", "1-1-3", "1-1-3", "1-1-3")
	top := New([]*Node{db1, db2, db3}, Options{})
	cs := top.Candidates(CandidateOptions{})
	if order(cs) != "db2:1 db3:-" || !strings.Contains(reasonsOf(cs, "db3"), "diverged from db2, the most advanced: has 1-1-3") {
		t.Errorf("candidates %s: %s", order(cs), reasonsOf(cs, "db3"))
	}
}

// A delayed replica is never a candidate, whatever its position.
func TestDelayedNotCandidate(t *testing.T) {
	db1, db2, db3, _ := healthy(t)
	db2.Replica.SQLDelay = 3600
	top := New([]*Node{db1, db2, db3}, Options{})
	cs := top.Candidates(CandidateOptions{})
	if order(cs) != "db3:1 db2:-" || !strings.Contains(reasonsOf(cs, "db2"), "delayed 3600 s") {
		t.Errorf("candidates %s: %s", order(cs), reasonsOf(cs, "db2"))
	}
}

// After a clone (RESET MASTER, gtid_slave_pos from the image) and its
// promotion, the new primary's binlog state lacks the old server_ids; a
// replica's own old writes from before the clone are history, not errant,
// when strict mode guarantees seq_no order. Without strict mode they are
// still reported (fail closed).
func TestClonedPrimaryHistory(t *testing.T) {
	on, off := true, false
	for _, strict := range []*bool{&on, &off} {
		p := writable(mariadb("db4", 4, 4))
		mariaGTIDs(t, p, "0-4-60", "0-1-50", "0-4-60", "0-4-60")
		p.GTIDStrictMode = strict
		r := replicaOf(mariadb("db2", 2, 2), p)
		mariaGTIDs(t, r, "0-4-60", "0-4-60", "0-4-60", "0-1-50,0-2-5,0-4-60")
		r.GTIDStrictMode = strict
		top := New([]*Node{p, r}, Options{})
		if *strict && r.Errant != "" {
			t.Errorf("strict: old history called errant: %q\n%s", r.Errant, top)
		}
		if !*strict && r.Errant != "0-2-5" {
			t.Errorf("not strict: errant %q, want 0-2-5", r.Errant)
		}
	}
}

func TestPrimaryReadOnlyAndOptionFiles(t *testing.T) {
	db1, db2, db3, _ := healthy(t)
	db1.ReadOnly = false
	files := map[*Node]bool{db1: true, db2: true, db3: false}
	opts := Options{OptionReadOnly: func(n *Node) (bool, bool) { on, ok := files[n]; return on, ok }}
	top := New([]*Node{db1, db2, db3}, opts)
	wantProblems(t, top, "error option_file_read_only db1", "error option_file_read_only db3")
	db1.ReadOnly = true
	wantProblems(t, New([]*Node{db1, db2, db3}, Options{}), "error primary_read_only db1")
}

// A lone replica of a dead primary has no peer to compare with: its own
// old writes (from when it was the primary) before its gtid_slave_pos are
// history; an own write past it is errant.
func TestLoneReplicaOwnWrites(t *testing.T) {
	db1 := unreachable(writable(mariadb("db1", 23306, 1)))
	db2 := replicaOf(mariadb("db2", 23307, 2), db1)
	mariaGTIDs(t, db2, "0-1-42", "0-1-42", "0-1-42", "0-1-42,0-2-20")
	if New([]*Node{db1, db2}, Options{}); db2.Errant != "" {
		t.Errorf("old history called errant: %q", db2.Errant)
	}
	mariaGTIDs(t, db2, "0-2-43", "0-1-42", "0-2-43", "0-1-42,0-2-43")
	if New([]*Node{db1, db2}, Options{}); db2.Errant != "0-2-43" {
		t.Errorf("own write past gtid_slave_pos: errant %q, want 0-2-43", db2.Errant)
	}
}

func TestRecovery(t *testing.T) {
	fenced := func() (*Node, *Node, *Node) {
		db1 := same(t, mariadb("db1", 23306, 1), "0-1-42", "0-1-42") // read-only, replicates from no one
		db2 := unreachable(replicaOf(mariadb("db2", 23307, 2), db1)) // the candidate, dead
		db3 := same(t, replicaOf(mariadb("db3", 23308, 3), db1), "0-1-42", "0-1-42")
		return db1, db2, db3
	}
	db1, db2, db3 := fenced()
	if r := New([]*Node{db1, db2, db3}, Options{}).Recovery(); r.Action != "unfence" || r.Node != db1 {
		t.Errorf("nothing ahead of the fenced primary: %+v", r)
	}
	// db2 died halfway through the repointing: db4 follows it and got a
	// write of its; db3 still follows the fenced db1. Unfencing db1 would
	// fork; db4 has everything, so it becomes the primary.
	ahead := func() (*Node, *Node, *Node, *Node) {
		db1 := same(t, mariadb("db1", 23306, 1), "0-1-42", "0-1-42")
		db2 := unreachable(mariadb("db2", 23307, 2))
		db3 := same(t, replicaOf(mariadb("db3", 23308, 3), db1), "0-1-42", "0-1-42")
		db4 := same(t, replicaOf(mariadb("db4", 23309, 4), db2), "0-2-43", "0-1-42,0-2-43")
		db4.Replica.IORunning, db4.Replica.IOThread, db4.Replica.LastIOErrno = false, "Connecting", 2003
		return db1, db2, db3, db4
	}
	recovery := func(nodes ...*Node) Recovery { return New(nodes, Options{}).Recovery() }
	a1, a2, a3, a4 := ahead()
	if r := recovery(a1, a2, a3, a4); r.Action != "promote" || r.Node != a4 || len(r.Gone) != 1 || r.Gone[0] != a2 ||
		!strings.Contains(r.Reason, "db4 has 0-2-43 that db1 lacks") {
		t.Errorf("a replica ahead: %+v", r)
	}
	// Hostile: the receiver of db4 still reaches db2, which the tool
	// cannot: db2 may be running and writable.
	a1, a2, a3, a4 = ahead()
	a4.Replica.IORunning, a4.Replica.IOThread, a4.Replica.LastIOErrno = true, "Yes", 0
	if r := recovery(a1, a2, a3, a4); r.Action != "" || !strings.Contains(r.Reason, "receiver of db4 reaches it") {
		t.Errorf("db2 reached by a receiver: %+v", r)
	}
	// Hostile: db2 answers with an error (a wrong password).
	a1, a2, a3, a4 = ahead()
	a2.Err = &server.Error{Op: "connect", Code: 1045, Message: "Access denied"}
	if r := recovery(a1, a2, a3, a4); r.Action != "" || !strings.Contains(r.Reason, "db2 answers with an error") {
		t.Errorf("db2 answers: %+v", r)
	}
	// Hostile: two replicas ahead with different transactions: forked.
	a1, a2, a3, a4 = ahead()
	a5 := same(t, replicaOf(mariadb("db5", 23310, 5), a2), "0-1-42,1-5-3", "0-1-42,1-5-3")
	a5.Replica.IORunning = false
	if r := recovery(a1, a2, a3, a4, a5); r.Action != "" || !strings.Contains(r.Reason, "histories differ") {
		t.Errorf("forked: %+v", r)
	}
	// Hostile: every server answers; db3's extra transaction was made on
	// it (errant), not received from a server that died.
	db1, db2, db3 = fenced()
	db2.Err = nil
	same(t, db2, "0-1-42", "0-1-42")
	same(t, db3, "0-3-43", "0-1-42,0-3-43")
	if r := recovery(db1, db2, db3); r.Action != "" || !strings.Contains(r.Reason, "made elsewhere (errant)") {
		t.Errorf("errant, all answer: %+v", r)
	}
	db1, db2, db3 = fenced()
	writable(db3)
	if r := New([]*Node{db1, db2, db3}, Options{}).Recovery(); r.Action != "" || !strings.Contains(r.Reason, "db3 takes writes") {
		t.Errorf("a writable server: %+v", r)
	}
	_, _, _, top := healthy(t)
	if r := top.Recovery(); r.Action != "" || !strings.Contains(r.Reason, "takes writes: nothing to recover") {
		t.Errorf("healthy: %+v", r)
	}
}

func TestFallingBehind(t *testing.T) {
	lagged := func(l2, l3 int64) *Topology {
		db1, db2, db3, _ := healthy(t)
		db2.Lag, db3.Lag = &l2, &l3
		return New([]*Node{db1, db2, db3}, Options{})
	}
	ps := lagged(5, 3).FallingBehind(lagged(2, 3))
	if len(ps) != 1 || ps[0].Node.Name != "db2" || ps[0].Kind != KindFallingBehind ||
		!strings.Contains(ps[0].Message, "grew from 2s to 5s") {
		t.Errorf("problems %v", ps)
	}
	if ps := lagged(1, 1).FallingBehind(lagged(0, 0)); len(ps) != 0 {
		t.Errorf("a second of jitter called falling behind: %v", ps)
	}
	if ps := lagged(2, 3).FallingBehind(lagged(5, 3)); len(ps) != 0 {
		t.Errorf("catching up called falling behind: %v", ps)
	}
}

// The candidate of a switchover died after a replica followed it and
// before the old primary did: the tree's primary is the dead candidate,
// and the fenced old primary replicates from no one, like a spare. Only
// when the operator names it (--fenced) does recover treat it as the
// fenced primary; each way out keeps the checks of a dead server.
func TestRecoveryOfAFencedPrimaryOutsideTheTree(t *testing.T) {
	build := func(db3Pos string) (db1, db2, db3 *Node) {
		db1 = unreachable(mariadb("db1", 23306, 1))                 // the candidate, dead
		db2 = same(t, mariadb("db2", 23307, 2), "0-2-42", "0-2-42") // fenced, replicates from no one
		db3 = same(t, replicaOf(mariadb("db3", 23308, 3), db1), db3Pos, db3Pos)
		db3.Replica.IORunning, db3.Replica.IOThread, db3.Replica.LastIOErrno = false, "Connecting", 2003
		return db1, db2, db3
	}
	db1, db2, db3 := build("0-2-42")
	top := New([]*Node{db1, db2, db3}, Options{})
	if top.Primary() != db1 {
		t.Fatalf("primary %v, want the dead candidate db1", top.Primary())
	}
	if r := top.Recovery(); r.Action != "" || !strings.Contains(r.Reason, "read-only servers replicate from no one (db2)") ||
		!strings.Contains(r.Reason, "recover -- --fenced NAME") {
		t.Errorf("unnamed: %+v", r)
	}
	if r := top.RecoveryOf(db2); r.Action != "unfence" || r.Node != db2 {
		t.Errorf("--fenced db2, nothing ahead of it: %+v", r)
	}
	// db1 took a write that reached db3: db3 has everything, it is promoted.
	db1, db2, db3 = build("0-1-43")
	db3.GTIDExecuted, _ = gtid.Parse("0-1-43", gtid.MariaDB)
	if r := New([]*Node{db1, db2, db3}, Options{}).RecoveryOf(db2); r.Action != "promote" || r.Node != db3 ||
		len(r.Gone) != 1 || r.Gone[0] != db1 {
		t.Errorf("--fenced db2, db3 ahead: %+v", r)
	}
	// Hostile: db3's receiver still reaches db1, which may be writable.
	db1, db2, db3 = build("0-2-42")
	db3.Replica.IORunning, db3.Replica.IOThread, db3.Replica.LastIOErrno = true, "Yes", 0
	if r := New([]*Node{db1, db2, db3}, Options{}).RecoveryOf(db2); r.Action != "" ||
		!strings.Contains(r.Reason, "receiver of db3 reaches it") {
		t.Errorf("db1 reached by a receiver, unfence: %+v", r)
	}
	// Hostile: db1 answers the tool with an error: it runs.
	db1, db2, db3 = build("0-2-42")
	db1.Err = &server.Error{Op: "connect", Code: 1045, Message: "Access denied"}
	if r := New([]*Node{db1, db2, db3}, Options{}).RecoveryOf(db2); r.Action != "" ||
		!strings.Contains(r.Reason, "db1 answers with an error") {
		t.Errorf("db1 answers: %+v", r)
	}
	// Hostile: naming a server that cannot be the fenced primary.
	db1, db2, db3 = build("0-2-42")
	writable(db2)
	if r := New([]*Node{db1, db2, db3}, Options{}).RecoveryOf(db2); r.Action != "" || !strings.Contains(r.Reason, "takes writes") {
		t.Errorf("--fenced a writable server: %+v", r)
	}
	_, h2, _, healthyTop := healthy(t)
	if r := healthyTop.RecoveryOf(h2); r.Action != "" || !strings.Contains(r.Reason, "it is a replica") {
		t.Errorf("--fenced a replica: %+v", r)
	}
}

// Hostile: the candidate the switchover promoted does not answer the tool
// but answers with an error (it runs): nothing is ahead of the fenced
// primary, yet unfencing it could make two writable primaries.
func TestRecoveryRefusesUnfenceWhileTheCandidateMayRun(t *testing.T) {
	db1 := same(t, mariadb("db1", 23306, 1), "0-1-42", "0-1-42")
	db2 := unreachable(replicaOf(mariadb("db2", 23307, 2), db1))
	db2.Err = &server.Error{Op: "connect", Code: 1040, Message: "Too many connections"}
	db3 := same(t, replicaOf(mariadb("db3", 23308, 3), db1), "0-1-42", "0-1-42")
	if r := New([]*Node{db1, db2, db3}, Options{}).Recovery(); r.Action != "" ||
		!strings.Contains(r.Reason, "db2 answers with an error") {
		t.Errorf("%+v", r)
	}
}
