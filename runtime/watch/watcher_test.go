package watch

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

// script is a Watcher whose discoveries are hand-built topologies, one
// per look, on a clock the test moves; it records what the watcher did.
type script struct {
	t        *testing.T
	w        *Watcher
	now      time.Time
	next     *topology.Topology
	lines    []string
	failed   []string // verdicts failed over, "kind server"
	fenced   []string
	demoted  []string
	failErr  error
	fenceErr error
}

func newScript(t *testing.T, fence bool) *script {
	s := &script{t: t, now: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}
	o := Options{Cluster: "main", Block: time.Hour,
		Discover: func(context.Context) (*topology.Topology, error) { return s.next, nil },
		Failover: func(_ context.Context, inc Incident) error {
			s.failed = append(s.failed, string(inc.Verdict.Kind)+" "+inc.Verdict.Server)
			return s.failErr
		},
		Demote: func(_ context.Context, n *topology.Node) error { s.demoted = append(s.demoted, n.Name); return nil },
		Log:    func(line string) { s.lines = append(s.lines, line) },
		Now:    func() time.Time { return s.now },
	}
	if fence {
		o.Fence = func(_ context.Context, n *topology.Node) error {
			s.fenced = append(s.fenced, n.Name)
			return s.fenceErr
		}
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.w = w
	return s
}

// look makes one look at top, after moving the clock by d.
func (s *script) look(d time.Duration, top *topology.Topology) {
	s.now = s.now.Add(d)
	s.next = top
	s.w.Look(context.Background())
}

func (s *script) logged(sub string) int {
	n := 0
	for _, l := range s.lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// after a failover: db2 the primary, db3 under it, db1 gone.
func failedOver(db1Err error, db1Writable bool) *topology.Topology {
	db2 := node("db2", 3307)
	db2.ReadOnly = false
	db3 := replicaOf(node("db3", 3308), db2)
	db1 := node("db1", 3306)
	db1.Err = db1Err
	if db1Writable {
		db1.ReadOnly = false
	}
	return topology.New([]*topology.Node{db1, db2, db3}, topology.Options{})
}

func TestWatcherFailsOverOnceThenBlocks(t *testing.T) {
	s := newScript(t, true)
	s.look(0, cluster(nil, nil))
	if len(s.failed) != 0 || s.logged("main: healthy db1") != 1 {
		t.Fatalf("healthy: failed over %v; log %q", s.failed, s.lines)
	}
	s.look(250*time.Millisecond, cluster(refused, receiversDown))
	s.look(250*time.Millisecond, cluster(refused, receiversDown)) // the playbook is done only in the next look's world
	if len(s.failed) != 1 || s.failed[0] != "dead_primary db1" {
		t.Fatalf("failovers %v, want exactly one of db1", s.failed)
	}
	if s.logged("dead_primary db1: ") != 1 {
		t.Errorf("the verdict was logged %d times, want once: %q", s.logged("dead_primary db1: "), s.lines)
	}
	st := s.w.Status()
	if st.Failovers != 1 || st.Last == nil || st.Last.Outcome != "done" || !st.BlockedUntil.Equal(s.now.Add(-250*time.Millisecond).Add(time.Hour)) ||
		!strings.Contains(st.BlockReason, "failover of db1 (dead_primary)") {
		t.Errorf("status after the failover: %+v", st)
	}
	// The new primary dies within the block: reported, not failed over,
	// and reported once however many looks see it.
	s.look(time.Minute, failedOver(refused, false))
	deadDB2 := func() *topology.Topology {
		db2 := node("db2", 3307)
		db2.ReadOnly, db2.Err = false, refused
		db3 := replicaOf(node("db3", 3308), db2)
		db3.Replica.IORunning, db3.Replica.IOThread, db3.Replica.LastIOErrno = false, "Connecting", 2003
		return topology.New([]*topology.Node{db2, db3}, topology.Options{})
	}
	for range 3 {
		s.look(time.Second, deadDB2())
	}
	if len(s.failed) != 1 {
		t.Fatalf("a second failover within the block: %v", s.failed)
	}
	if n := s.logged("NOT failing over db2"); n != 1 {
		t.Errorf("blocked failover logged %d times, want once: %q", n, s.lines)
	}
	if st := s.w.Status(); st.Suppressed == nil || st.Suppressed.Outcome != "blocked" ||
		!strings.Contains(st.Suppressed.Error, "failover of db1") || st.Last.Outcome != "done" {
		t.Errorf("status while blocked: last %+v, suppressed %+v", st.Last, st.Suppressed)
	}
	// The operator clears the block: the next look fails over.
	s.w.Clear()
	s.look(time.Second, deadDB2())
	if len(s.failed) != 2 || s.failed[1] != "dead_primary db2" {
		t.Errorf("after clear: failovers %v", s.failed)
	}
}

// A hung primary may wake up writable: without a way to stop it, watch
// does not fail over (and does not block, so that a fence configured
// later, or the primary's death, may still act); with one, it stops it
// first.
func TestWatcherFencesAHungPrimaryFirst(t *testing.T) {
	s := newScript(t, false)
	s.look(0, cluster(timedOut, receiversDown))
	if len(s.failed) != 0 || s.logged("NOT failing over db1: refused: db1 is hung") != 1 {
		t.Fatalf("no fence: failed over %v; log %q", s.failed, s.lines)
	}
	if st := s.w.Status(); st.Last.Outcome != "refused" || !st.BlockedUntil.IsZero() {
		t.Errorf("refused: %+v", st)
	}
	s = newScript(t, true)
	s.fenceErr = errors.New("ssh: connection refused")
	s.look(0, cluster(timedOut, receiversDown))
	if len(s.failed) != 0 || len(s.fenced) != 1 || s.logged("fencing db1 failed") != 1 {
		t.Fatalf("the fence failed: failed over %v; log %q", s.failed, s.lines)
	}
	s.fenceErr = nil
	s.look(time.Second, cluster(timedOut, receiversDown))
	if len(s.fenced) != 2 || len(s.failed) != 1 || s.failed[0] != "hung_primary db1" || !s.w.Status().Last.Fenced {
		t.Errorf("fenced, then failed over: fenced %v, failed %v, last %+v", s.fenced, s.failed, s.w.Status().Last)
	}
}

// The old primary comes back writable after the failover: it is made
// read-only within the look that sees it.
func TestWatcherDemotesTheFormerPrimary(t *testing.T) {
	s := newScript(t, true)
	s.look(0, cluster(refused, receiversDown))
	s.look(time.Second, failedOver(refused, false))
	if len(s.demoted) != 0 {
		t.Fatalf("demoted %v before db1 came back", s.demoted)
	}
	s.look(time.Second, failedOver(nil, true))
	if len(s.demoted) != 1 || s.demoted[0] != "db1" || s.logged("db1, failed over before, came back writable") != 1 {
		t.Errorf("demoted %v; log %q", s.demoted, s.lines)
	}
	// Hostile: split brain between two servers neither of which was failed
	// over is reported, never "fixed" by guessing.
	s = newScript(t, true)
	s.look(0, cluster(nil, func(_, db2, _ *topology.Node) { db2.ReadOnly = false }))
	if len(s.demoted) != 0 || s.logged("split_brain") != 1 {
		t.Errorf("split brain without a failover: demoted %v; log %q", s.demoted, s.lines)
	}
}

// A failed failover blocks the next one as well: what it left needs a
// person.
func TestWatcherFailedFailoverBlocks(t *testing.T) {
	s := newScript(t, true)
	s.failErr = errors.New("failover: no replica may be promoted")
	s.look(0, cluster(refused, receiversDown))
	s.look(time.Second, cluster(refused, receiversDown))
	st := s.w.Status()
	if len(s.failed) != 1 || st.Last.Outcome != "failed" || st.Suppressed == nil || st.Failovers != 1 || s.logged("FAILED after") != 1 {
		t.Errorf("failed %v; status %+v; log %q", s.failed, st, s.lines)
	}
}

// A gate that refuses (a standby, no quorum) keeps the watcher from
// failing over, logged once however many looks see the dead primary;
// once it lets the watcher act, the failover runs. A gate that blocks
// (a takeover honouring its predecessor's failover) is obeyed at once.
func TestWatcherActsOnlyThroughItsGate(t *testing.T) {
	s := newScript(t, true)
	gateErr := errors.New("not the leader of main")
	s.w.o.Gate = func(context.Context) error { return gateErr }
	s.w.o.Leader = func() string { return "standby; the leader is elsewhere" }
	for range 3 {
		s.look(250*time.Millisecond, cluster(refused, receiversDown))
	}
	if len(s.failed) != 0 || s.logged("NOT acting on dead_primary db1: not the leader of main") != 1 {
		t.Fatalf("failed %v; log %q", s.failed, s.lines)
	}
	if st := s.w.Status(); st.Leader != "standby; the leader is elsewhere" {
		t.Errorf("status leader %q", st.Leader)
	}
	gateErr = nil
	s.look(250*time.Millisecond, cluster(refused, receiversDown))
	if len(s.failed) != 1 {
		t.Fatalf("failed %v after the gate opened", s.failed)
	}

	b := newScript(t, true)
	b.w.o.Gate = func(context.Context) error {
		b.w.BlockUntil(b.now.Add(time.Hour), "the failover of db0 another watcher ran")
		return nil
	}
	b.look(0, cluster(refused, receiversDown))
	if st := b.w.Status(); len(b.failed) != 0 || st.Suppressed == nil || !strings.Contains(st.BlockReason, "another watcher") {
		t.Errorf("failed %v; status %+v", b.failed, st)
	}
}
