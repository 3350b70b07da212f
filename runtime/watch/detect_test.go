package watch

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/server"
	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

// Hand-built discoveries, no server: db1 the primary, db2 and db3 its
// replicas, as topology's own tests build them.

func node(name string, port int) *topology.Node {
	return &topology.Node{Name: name, Host: "127.0.0.1", Port: port, Via: "seed", ServerID: uint64(port),
		Flavor: flavor.MustParse("10.11.19-MariaDB"), Hostname: "host-" + name, ListenPort: port,
		ReadOnly: true, LogBin: true, LogReplicaUpdates: true, BinlogFormat: "ROW"}
}

func replicaOf(n, src *topology.Node) *topology.Node {
	var zero int64
	n.Replica = &flavor.ReplicaStatus{SourceHost: src.Host, SourcePort: src.Port, IORunning: true, IOThread: "Yes",
		SQLRunning: true, SQLThread: "Yes", SecondsBehind: &zero, HeartbeatPeriod: time.Second,
		ReadPosition: flavor.Position{File: "mysql-bin.000001", Pos: 1000}}
	n.Lag = &zero
	return n
}

var (
	refused = &server.Error{Op: "connect", Message: "dial tcp: connection refused",
		Err: fmt.Errorf("dial: %w", syscall.ECONNREFUSED)}
	timedOut = &server.Error{Op: "connect", Message: "no answer within 1s (the connect deadline)",
		Err: &server.DeadlineError{Kind: "connect", After: time.Second}}
	denied = &server.Error{Op: "connect", Code: 1045, Message: "Access denied"}
)

// cluster is one discovery: db1 with the given error (nil: it answers,
// writable), db2 and db3 replicating from it, edited by f.
func cluster(db1Err error, f func(db1, db2, db3 *topology.Node)) *topology.Topology {
	db1 := node("db1", 3306)
	db1.ReadOnly = false
	db1.Err = db1Err
	db2, db3 := replicaOf(node("db2", 3307), db1), replicaOf(node("db3", 3308), db1)
	if f != nil {
		f(db1, db2, db3)
	}
	return topology.New([]*topology.Node{db1, db2, db3}, topology.Options{})
}

// receiversDown is what replicas show once their source is gone.
func receiversDown(_, db2, db3 *topology.Node) {
	for _, n := range []*topology.Node{db2, db3} {
		n.Replica.IORunning, n.Replica.IOThread, n.Replica.LastIOErrno = false, "Connecting", 2003
	}
}

func primaryVerdict(t *testing.T, vs []Verdict) Verdict {
	t.Helper()
	for _, v := range vs {
		switch v.Kind {
		case SplitBrain, DeadReplica, BrokenReplica:
			continue
		}
		return v
	}
	t.Fatalf("no primary verdict in %v", vs)
	return Verdict{}
}

func TestPrimaryVerdicts(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		err  error
		f    func(db1, db2, db3 *topology.Node)
		want Kind
		says string
	}{
		{"answers", nil, nil, Healthy, "it answers"},
		{"refused, receivers down", refused, receiversDown, DeadPrimary, "no replica's receiver is connected"},
		// Hostile: the tool's own path fails, the replicas still get events.
		{"refused, a receiver connected", refused, nil, UnreachablePrimary, "receiver of db2 and db3 is connected"},
		// Hostile: a wrong password answers: the server runs.
		{"wrong password", denied, receiversDown, UnreachablePrimary, "with an error"},
		// Hostile: a timeout is not a refusal: the process may wake up.
		{"timed out, receivers down", timedOut, receiversDown, HungPrimary, "fence it before a failover"},
		{"fenced, nothing writable", nil, func(db1, _, _ *topology.Node) { db1.ReadOnly = true }, NoWritablePrimary, "run recover"},
	} {
		var d Detector
		v := primaryVerdict(t, d.Observe(now, cluster(c.err, c.f)))
		if v.Kind != c.want || !strings.Contains(strings.Join(v.Evidence, "; "), c.says) {
			t.Errorf("%s: %v, want %s saying %q", c.name, v, c.want, c.says)
		}
		if v.Kind.Actionable() != (c.want == DeadPrimary || c.want == HungPrimary) {
			t.Errorf("%s: actionable %v", c.name, v.Kind.Actionable())
		}
	}
}

// A primary that times out while its receivers still say "Yes" is hung
// only once none of them has received anything (no heartbeat, no event)
// for HungAfter; a stall shorter than that, or a receiver still getting
// heartbeats, is the tool's own path failing: unreachable, no failover.
func TestHungNeedsTheReceiversToStall(t *testing.T) {
	start := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	var d Detector
	beats := uint64(10)
	observe := func(at time.Duration, db1Err error, db3Beats uint64) Verdict {
		return primaryVerdict(t, d.Observe(start.Add(at), cluster(db1Err, func(_, db2, db3 *topology.Node) {
			db2.Replica.ReceivedHeartbeats = beats
			db3.Replica.ReceivedHeartbeats = db3Beats
		})))
	}
	if v := observe(0, nil, beats); v.Kind != Healthy {
		t.Fatalf("before: %v", v)
	}
	// The primary stops answering; nothing arrives at either replica.
	for _, at := range []time.Duration{500 * time.Millisecond, time.Second, 1900 * time.Millisecond} {
		if v := observe(at, timedOut, beats); v.Kind != UnreachablePrimary || !strings.Contains(v.String(), "received from it") {
			t.Errorf("stalled %s only: %v, want unreachable", at, v)
		}
	}
	if v := observe(2*time.Second, timedOut, beats); v.Kind != HungPrimary ||
		!strings.Contains(v.String(), "db2 has received nothing (heartbeats 10) for 2s") {
		t.Errorf("stalled 2s: %v, want hung", v)
	}
	// Hostile: db3 still gets heartbeats: the primary sends; only the
	// tool cannot reach it.
	if v := observe(3*time.Second, timedOut, beats+1); v.Kind != UnreachablePrimary || !strings.Contains(v.String(), "db3 received from it 0s ago") {
		t.Errorf("db3 receiving: %v, want unreachable", v)
	}
	// A longer heartbeat period waits longer: 2 periods.
	var slow Detector
	slowCluster := func(db1Err error) *topology.Topology {
		return cluster(db1Err, func(_, db2, db3 *topology.Node) {
			db2.Replica.HeartbeatPeriod, db3.Replica.HeartbeatPeriod = 5*time.Second, 5*time.Second
		})
	}
	slow.Observe(start, slowCluster(nil))
	if v := primaryVerdict(t, slow.Observe(start.Add(9*time.Second), slowCluster(timedOut))); v.Kind != UnreachablePrimary {
		t.Errorf("9s of a 5s heartbeat: %v", v)
	}
	if v := primaryVerdict(t, slow.Observe(start.Add(10*time.Second), slowCluster(timedOut))); v.Kind != HungPrimary {
		t.Errorf("10s of a 5s heartbeat: %v", v)
	}
}

func TestClusterVerdicts(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	kinds := func(vs []Verdict) string {
		var out []string
		for _, v := range vs {
			out = append(out, string(v.Kind)+" "+v.Server)
		}
		return strings.Join(out, ", ")
	}
	for _, c := range []struct {
		name string
		f    func(db1, db2, db3 *topology.Node)
		want string
	}{
		{"healthy", nil, "healthy db1"},
		{"two writable", func(_, db2, _ *topology.Node) { db2.ReadOnly = false }, "split_brain , healthy db1"},
		{"a replica down", func(_, db2, _ *topology.Node) {
			db2.Err = refused
		}, "healthy db1, dead_replica db2"},
		{"an applier error", func(_, _, db3 *topology.Node) {
			db3.Replica.SQLRunning, db3.Replica.SQLThread, db3.Replica.LastSQLErrno = false, "No", 1062
		}, "healthy db1, broken_replica db3"},
		{"refused by its source", func(_, _, db3 *topology.Node) {
			db3.Replica.IORunning, db3.Replica.IOThread, db3.Replica.LastIOErrno = false, "Connecting", 1045
		}, "healthy db1, broken_replica db3"},
	} {
		var d Detector
		if got := kinds(d.Observe(now, cluster(nil, c.f))); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	// While the primary is dead its replicas' receivers fail by
	// necessity: that is not a broken replica.
	var d Detector
	if got := kinds(d.Observe(now, cluster(refused, receiversDown))); got != "dead_primary db1" {
		t.Errorf("dead primary: %s", got)
	}
}

// Each verdict is logged once: when it appears and when it ends.
func TestChanges(t *testing.T) {
	healthy := []Verdict{{Kind: Healthy, Server: "db1"}}
	dead := []Verdict{{Kind: DeadPrimary, Server: "db1", Evidence: []string{"refused"}}, {Kind: DeadReplica, Server: "db3"}}
	deadAgain := []Verdict{{Kind: DeadPrimary, Server: "db1", Evidence: []string{"refused again"}}, {Kind: DeadReplica, Server: "db3"}}
	after := []Verdict{{Kind: Healthy, Server: "db2"}}
	text := func(cs []Change) string {
		var out []string
		for _, c := range cs {
			s := string(c.Verdict.Kind) + " " + c.Verdict.Server
			if c.Ended {
				s += " ended"
			}
			out = append(out, s)
		}
		return strings.Join(out, ", ")
	}
	for _, c := range []struct {
		name          string
		before, after []Verdict
		want          string
	}{
		{"first look", nil, healthy, "healthy db1"},
		{"still healthy", healthy, healthy, ""},
		{"failure", healthy, dead, "dead_primary db1, dead_replica db3"},
		{"same failure, new evidence", dead, deadAgain, ""},
		{"failed over", dead, after, "dead_primary db1 ended, dead_replica db3 ended, healthy db2"},
	} {
		if got := text(Changes(c.before, c.after)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestTimedOut(t *testing.T) {
	for err, want := range map[error]bool{
		nil: false, refused: false, denied: false, timedOut: true,
		errors.New("dial tcp 127.0.0.1:1: i/o timeout"): false, // a bare message is not evidence
	} {
		if got := TimedOut(err); got != want {
			t.Errorf("TimedOut(%v) = %v, want %v", err, got, want)
		}
	}
}
