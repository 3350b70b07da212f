// Package watch decides, one discovery after another, whether a cluster
// needs a failover. It judges the primary the way its replicas see it
// (the rule of topology.PrimaryVerdict), and adds what one discovery
// cannot show: time. A primary that stopped answering within a deadline
// (hung, not refused) is judged by whether its replicas still receive
// anything from it, heartbeats included, across several discoveries.
//
// The package decides only; running the failover playbook, fencing and
// moving traffic are the caller's.
package watch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/server"
	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

// Kind is what the watcher concludes about a cluster or one server.
type Kind string

const (
	// Healthy: the primary answers and is the only writable server.
	Healthy Kind = "healthy"
	// DeadPrimary: the primary refuses connections (nothing listens) and
	// no replica's receiver reaches it. A failover may run.
	DeadPrimary Kind = "dead_primary"
	// HungPrimary: the primary accepts no session within the deadline (it
	// is stopped, swapping, or its disk hangs) and its replicas have
	// received nothing from it, not even a heartbeat, for HungAfter. Its
	// process may still run and wake up writable: it must be fenced
	// (stopped through its machine) before a failover.
	HungPrimary Kind = "hung_primary"
	// UnreachablePrimary: the tool cannot use the primary but it runs: it
	// answers with an error, or a receiver still gets its events. No
	// failover: an alert.
	UnreachablePrimary Kind = "unreachable_primary"
	// NoWritablePrimary: the primary answers but is read-only, and no
	// server takes writes (a switchover fenced it, then its new primary
	// died): not a failover, recover's case. An alert.
	NoWritablePrimary Kind = "no_writable_primary"
	// NoPrimary: discovery found no primary, or several roots.
	NoPrimary Kind = "no_primary"
	// SplitBrain: more than one server takes writes.
	SplitBrain Kind = "split_brain"
	// DeadReplica: a replica of the primary does not answer.
	DeadReplica Kind = "dead_replica"
	// BrokenReplica: a replica's applier stopped on an error, or its
	// receiver was refused by its source.
	BrokenReplica Kind = "broken_replica"
)

// Actionable reports whether the verdict calls for a failover.
func (k Kind) Actionable() bool { return k == DeadPrimary || k == HungPrimary }

// Verdict is one conclusion with the evidence behind it. Server is the
// server it concerns ("" for the cluster as a whole).
type Verdict struct {
	Kind     Kind
	Server   string
	Evidence []string
}

func (v Verdict) String() string {
	who := ""
	if v.Server != "" {
		who = " " + v.Server
	}
	return fmt.Sprintf("%s%s: %s", v.Kind, who, strings.Join(v.Evidence, "; "))
}

// key identifies a verdict across discoveries: the same kind about the
// same server is the same incident, whatever its evidence now says.
func (v Verdict) key() string { return string(v.Kind) + " " + v.Server }

// DefaultHungAfter is how long the replicas must have received nothing
// from a primary that times out before it counts as hung, when the
// heartbeat period does not say more.
const DefaultHungAfter = 2 * time.Second

// Detector keeps what it saw of each replica's receiver between
// discoveries. It is not safe for concurrent use: one per cluster.
type Detector struct {
	// HungAfter is how long every receiver must have shown no progress
	// (no new heartbeat, no new event) before a primary that times out is
	// hung; 0 means twice the longest heartbeat period among the
	// replicas, at least DefaultHungAfter.
	HungAfter time.Duration

	receivers map[string]receiver
}

// receiver is the last progress seen on one replica's receiver.
type receiver struct {
	heartbeats uint64
	read       flavor.Position
	retrieved  string
	period     time.Duration
	since      time.Time // when it last moved (or was first seen)
}

// Observe takes one discovery made at the given time and returns the
// verdicts about the cluster: split brain first, then the primary's
// (exactly one of healthy, dead, hung, unreachable, no writable primary,
// no primary), and one per dead or
// broken replica, in that order.
func (d *Detector) Observe(at time.Time, t *topology.Topology) []Verdict {
	d.track(at, t)
	var out []Verdict
	if w := writable(t); len(w) > 1 {
		out = append(out, Verdict{Kind: SplitBrain, Evidence: []string{"writable: " + strings.Join(w, ", ")}})
	}
	out = append(out, d.primary(at, t))
	return append(out, replicaVerdicts(t)...)
}

// track records each reachable replica's receiver progress.
func (d *Detector) track(at time.Time, t *topology.Topology) {
	if d.receivers == nil {
		d.receivers = map[string]receiver{}
	}
	for _, n := range t.Nodes() {
		if !n.Reachable() || n.Replica == nil {
			continue
		}
		r := n.Replica
		now := receiver{heartbeats: r.ReceivedHeartbeats, read: r.ReadPosition, retrieved: r.RetrievedGTIDs,
			period: r.HeartbeatPeriod, since: at}
		if old, ok := d.receivers[n.Name]; ok && old.heartbeats == now.heartbeats && old.read == now.read &&
			old.retrieved == now.retrieved {
			now.since = old.since
		}
		d.receivers[n.Name] = now
	}
}

// hungAfter is HungAfter, or what the heartbeat periods call for.
func (d *Detector) hungAfter(replicas []*topology.Node) time.Duration {
	if d.HungAfter > 0 {
		return d.HungAfter
	}
	after := DefaultHungAfter
	for _, n := range replicas {
		if p := 2 * d.receivers[n.Name].period; p > after {
			after = p
		}
	}
	return after
}

// primary is the verdict about the primary.
func (d *Detector) primary(at time.Time, t *topology.Topology) Verdict {
	pv := t.PrimaryVerdict()
	switch pv.State {
	case topology.PrimaryAlive:
		if pv.Primary.ReadOnly && len(writable(t)) == 0 {
			return Verdict{Kind: NoWritablePrimary, Server: pv.Primary.Name, Evidence: []string{
				"it answers but is read-only, and no server takes writes: run recover (see its report)"}}
		}
		return Verdict{Kind: Healthy, Server: pv.Primary.Name, Evidence: []string{"it answers"}}
	case topology.PrimaryNone:
		return Verdict{Kind: NoPrimary, Evidence: []string{pv.Reason}}
	}
	p := pv.Primary
	timedOut := TimedOut(p.Err)
	switch {
	case pv.State == topology.PrimaryDead && !timedOut:
		return Verdict{Kind: DeadPrimary, Server: p.Name, Evidence: []string{pv.Reason}}
	case pv.State == topology.PrimaryDead:
		// Nothing is connected to it, but nothing was refused either: a
		// process that accepts connections and never answers may wake up.
		return Verdict{Kind: HungPrimary, Server: p.Name, Evidence: []string{pv.Reason,
			"it timed out rather than refused: its process may still run, so fence it before a failover"}}
	case !timedOut:
		return Verdict{Kind: UnreachablePrimary, Server: p.Name, Evidence: []string{pv.Reason}}
	}
	// It times out, and some receivers still say "Yes": hung only when
	// none of them has received anything for hungAfter.
	after := d.hungAfter(pv.Connected)
	var moving, stalled []string
	for _, r := range pv.Connected {
		idle := at.Sub(d.receivers[r.Name].since)
		if idle < after {
			moving = append(moving, fmt.Sprintf("%s received from it %s ago", r.Name, idle.Round(time.Millisecond)))
		} else {
			stalled = append(stalled, fmt.Sprintf("%s has received nothing (heartbeats %d) for %s", r.Name,
				d.receivers[r.Name].heartbeats, idle.Round(time.Millisecond)))
		}
	}
	if len(moving) > 0 {
		return Verdict{Kind: UnreachablePrimary, Server: p.Name, Evidence: append([]string{pv.Reason}, moving...)}
	}
	return Verdict{Kind: HungPrimary, Server: p.Name, Evidence: append([]string{
		fmt.Sprintf("it does not answer within the deadline (%s)", errText(p.Err))}, stalled...)}
}

// writable lists the reachable deployment servers that take writes.
func writable(t *topology.Topology) []string {
	var out []string
	for _, n := range t.Nodes() {
		if n.Reachable() && !n.Outside && !n.ReadOnly {
			out = append(out, n.Name)
		}
	}
	sort.Strings(out)
	return out
}

// replicaVerdicts are the dead and broken replicas under the primary.
// While the primary is down its replicas' receivers fail by necessity:
// only the applier's errors count then.
func replicaVerdicts(t *topology.Topology) []Verdict {
	p := t.Primary()
	if p == nil {
		return nil
	}
	var out []Verdict
	// A server that does not answer shows no source: every deployment
	// server but the primary that does not answer is a dead replica.
	for _, n := range t.Nodes() {
		if !n.Outside && !n.Reachable() && n != p {
			out = append(out, Verdict{Kind: DeadReplica, Server: n.Name, Evidence: []string{errText(n.Err)}})
		}
	}
	for _, n := range t.Replicas() {
		if n.Outside || !n.Reachable() {
			continue
		}
		r := n.Replica
		if r == nil {
			continue
		}
		var why []string
		if r.LastSQLErrno != 0 {
			why = append(why, fmt.Sprintf("applier stopped: error %d: %s", r.LastSQLErrno, r.LastSQLError))
		} else if !r.SQLRunning {
			why = append(why, "applier stopped")
		}
		sourceUp := n.Source != nil && n.Source.Reachable()
		if sourceUp && r.LastIOErrno > 0 && r.LastIOErrno < 2000 {
			why = append(why, fmt.Sprintf("receiver refused by its source: error %d: %s", r.LastIOErrno, r.LastIOError))
		} else if sourceUp && r.IOThread == "No" {
			why = append(why, "receiver stopped")
		}
		if len(why) > 0 {
			out = append(out, Verdict{Kind: BrokenReplica, Server: n.Name, Evidence: why})
		}
	}
	return out
}

// TimedOut reports whether err is a server that did not answer in time
// (a deadline, an I/O timeout), as opposed to one that refused the
// connection or answered with an error. A timeout says nothing about
// whether the process still runs.
func TimedOut(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return false
	}
	var de *server.DeadlineError
	if errors.As(err, &de) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// Change is a verdict that appeared or ended between two observations:
// the watcher logs each once, not at every tick.
type Change struct {
	Verdict Verdict
	Ended   bool // the condition is over (back to healthy)
}

// Changes compares two observations' verdicts: those that appeared
// (healthy included: the first look, the end of an outage) and those that
// ended (healthy excepted: its end is the failure that replaces it).
func Changes(before, after []Verdict) []Change {
	was := map[string]bool{}
	for _, v := range before {
		was[v.key()] = true
	}
	is := map[string]bool{}
	for _, v := range after {
		is[v.key()] = true
	}
	var out []Change
	for _, v := range before {
		if !is[v.key()] && v.Kind != Healthy {
			out = append(out, Change{Verdict: v, Ended: true})
		}
	}
	for _, v := range after {
		if was[v.key()] {
			continue
		}
		out = append(out, Change{Verdict: v})
	}
	return out
}
