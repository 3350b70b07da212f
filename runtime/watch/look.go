package watch

import (
	"context"
	"fmt"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

// DefaultFullEvery is how many looks a Prober makes between two full
// discoveries while nothing changes: 20 looks, 5 s at the default
// interval. While full discoveries keep finding the same cluster the
// spacing grows by as much again each time, up to MaxFullSpacing times
// that (80 looks, 20 s); any change brings it back. What only a full
// discovery sees (a new replica, GTID state and errant transactions,
// settings other than read_only) decides no failover by itself: it may
// wait that long.
const DefaultFullEvery = 20

// MaxFullSpacing bounds how far a steady cluster spaces its full
// discoveries: at most this many times FullEvery looks apart.
const MaxFullSpacing = 4

// Prober makes a watcher's looks cheap while the cluster is steady: a
// refresh of the last discovery (topology.Refresh: each server's
// read_only and each replica's status, heartbeats included) instead of a
// full discovery, which it runs when the refresh saw the shape change,
// every FullEvery looks (new replicas, GTID state; further apart while
// they find nothing new), and at every look while the primary does not
// answer (a failover may follow, and its incident carries a full
// discovery). Its Look is a watch.Options Discover; it is not safe for
// concurrent use.
type Prober struct {
	// Discover is the full discovery.
	Discover func(ctx context.Context) (*topology.Topology, error)
	// FullEvery: at most this many looks between two full discoveries
	// while they find changes; 0 is DefaultFullEvery, 1 a full discovery
	// at every look.
	FullEvery int

	last  *topology.Topology
	since int // looks since the last full discovery
	// spacing is the current multiple of FullEvery, 1 to MaxFullSpacing.
	spacing int
	// shape is the last full discovery's (see shapeOf).
	shape string
	// Full and Refreshed count the looks of each kind (the benchmarks').
	Full, Refreshed int
}

// Look returns the cluster as it is now.
func (p *Prober) Look(ctx context.Context) (*topology.Topology, error) {
	every := p.FullEvery
	if every <= 0 {
		every = DefaultFullEvery
	}
	p.spacing = min(max(p.spacing, 1), MaxFullSpacing)
	periodic := false
	if p.last != nil && steady(p.last) {
		if p.since+1 < every*p.spacing {
			if t, changed, err := topology.Refresh(ctx, p.last); err == nil && !changed {
				p.last, p.since = t, p.since+1
				p.Refreshed++
				return t, nil
			}
		} else {
			periodic = true
		}
	}
	t, err := p.Discover(ctx)
	if err != nil {
		p.last, p.spacing, p.shape = nil, 1, ""
		return nil, err
	}
	// Only a periodic discovery that found what the last one found
	// spaces the next; one run because something changed, or that finds
	// a change, brings the spacing back to FullEvery.
	shape := shapeOf(t)
	if periodic && shape == p.shape {
		p.spacing++
	} else {
		p.spacing = 1
	}
	p.last, p.since, p.shape = t, 0, shape
	p.Full++
	return t, nil
}

// steady reports whether a refresh may stand for a discovery of t: its
// primary is known and answers.
func steady(t *topology.Topology) bool {
	pr := t.Primary()
	return pr != nil && pr.Reachable()
}

// shapeOf sums up what makes two full discoveries of a cluster the same
// for the Prober: its servers, which answer, their roles, sources,
// server_ids and read_only, their errant transactions, and the kinds of
// problem found (not their messages, which carry lags and positions).
func shapeOf(t *topology.Topology) string {
	var b strings.Builder
	for _, n := range t.Nodes() {
		src := ""
		if n.Source != nil {
			src = n.Source.Name
		}
		fmt.Fprintf(&b, "%s %t %s %s %d %t %q;", n.Name, n.Reachable(), n.Role, src, n.ServerID, n.ReadOnly, n.Errant)
	}
	for _, pr := range t.Problems() {
		who := ""
		if pr.Node != nil {
			who = pr.Node.Name
		}
		fmt.Fprintf(&b, "%s %s %s;", pr.Severity, pr.Kind, who)
	}
	return b.String()
}
