package watch

import (
	"context"

	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

// DefaultFullEvery is how many looks a Prober makes between two full
// discoveries while nothing changes: 20 looks, 5 s at the default
// interval. What only a full discovery sees (a new replica, GTID state
// and errant transactions, settings other than read_only) decides no
// failover by itself: it may wait that long.
const DefaultFullEvery = 20

// Prober makes a watcher's looks cheap while the cluster is steady: a
// refresh of the last discovery (topology.Refresh: each server's
// read_only and each replica's status, heartbeats included) instead of a
// full discovery, which it runs when the refresh saw the shape change,
// every FullEvery looks (new replicas, GTID state), and at every look
// while the primary does not answer (a failover may follow, and its
// incident carries a full discovery). Its Look is a watch.Options
// Discover; it is not safe for concurrent use.
type Prober struct {
	// Discover is the full discovery.
	Discover func(ctx context.Context) (*topology.Topology, error)
	// FullEvery: at most this many looks between two full discoveries;
	// 0 is DefaultFullEvery, 1 a full discovery at every look.
	FullEvery int

	last  *topology.Topology
	since int // looks since the last full discovery
	// Full and Refreshed count the looks of each kind (the benchmarks').
	Full, Refreshed int
}

// Look returns the cluster as it is now.
func (p *Prober) Look(ctx context.Context) (*topology.Topology, error) {
	every := p.FullEvery
	if every <= 0 {
		every = DefaultFullEvery
	}
	if p.last != nil && p.since+1 < every && steady(p.last) {
		if t, changed, err := topology.Refresh(ctx, p.last); err == nil && !changed {
			p.last, p.since = t, p.since+1
			p.Refreshed++
			return t, nil
		}
	}
	t, err := p.Discover(ctx)
	if err != nil {
		p.last = nil
		return nil, err
	}
	p.last, p.since = t, 0
	p.Full++
	return t, nil
}

// steady reports whether a refresh may stand for a discovery of t: its
// primary is known and answers.
func steady(t *topology.Topology) bool {
	pr := t.Primary()
	return pr != nil && pr.Reachable()
}
