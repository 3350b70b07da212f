package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/bindings"
	"github.com/replicant-lua/replicant-lua/runtime/coord"
	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/runtime/watch"
)

// watchCoordination joins the watcher of one cluster to the watchers of
// other hosts through etcd: it campaigns to lead the cluster, lets the
// watcher act only while etcd confirms it leads, takes the procedure
// lock there for each failover, and shares the last failover (its block,
// and whether it ended) so that a watcher that takes over honours them.
type watchCoordination struct {
	etcd    *coord.Etcd
	camp    *coord.Campaign
	cluster string
	block   time.Duration
	log     func(string)
	me      coord.Holder

	mu      sync.Mutex
	w       *watch.Watcher
	leading bool   // the gate's last answer: a change means a takeover
	leader  string // for the status, refreshed by report
}

// coordinations are the etcd connections of one watch process: one per
// distinct coordinator, whatever the number of clusters on it.
type coordinations struct {
	conns map[string]*coord.Etcd
	camps map[string][]*coord.Campaign // per connection
	log   func(string)
}

// balanceEvery is how often a watch process checks that it leads no more
// than its share of the clusters on a coordinator.
const balanceEvery = 3 * time.Second

// balance spreads the leaderships over the watchers, one handover per
// connection per round, until ctx ends.
func (cs *coordinations) balance(ctx context.Context) {
	tick := time.NewTicker(balanceEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for key, e := range cs.conns {
			if yielded, _ := coord.Balance(ctx, e, cs.camps[key]); yielded && cs.log != nil {
				cs.log("handed a cluster's leadership over: this watcher led more than its share")
			}
		}
	}
}

// close ends every connection: the leaderships left go to the standbys
// at once.
func (cs *coordinations) close() {
	for _, e := range cs.conns {
		e.Close()
	}
}

// join sets wc up to act only as the cluster's leader; nil when neither
// --coordinator nor the deployment names a coordinator.
func (cs *coordinations) join(ctx context.Context, g globals, d *deploy.Deployment, wc *bindings.WatchConfig,
	block time.Duration, log func(string)) (*watchCoordination, error) {
	cfg, cluster, ok, err := coordinator(g.coordinator, d)
	if err != nil || !ok {
		return nil, err
	}
	key := fmt.Sprintf("%q", cfg)
	e := cs.conns[key]
	if e == nil {
		if e, err = coord.Open(ctx, cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", d.Path, err)
		}
		if cs.conns == nil {
			cs.conns, cs.camps = map[string]*coord.Etcd{}, map[string][]*coord.Campaign{}
		}
		cs.conns[key] = e
	}
	cs.log = log
	c := &watchCoordination{etcd: e, cluster: cluster, block: block, me: coord.Me("watch", ""),
		log: func(s string) { log(d.Path + ": " + s) }}
	c.camp = e.Campaign(cluster, c.me)
	cs.camps[key] = append(cs.camps[key], c.camp)
	wc.Run.Locker = &coord.Locker{Etcd: e, Cluster: cluster, Holder: coord.Me("watch: failover", "")}
	wc.Gate, wc.Leader, wc.AroundFailover = c.gate, c.leaderText, c.around
	cleared := wc.OnClear
	wc.OnClear = func() {
		if cleared != nil {
			cleared()
		}
		c.clearShared()
	}
	return c, nil
}

// attach gives the coordination its watcher, once built.
func (c *watchCoordination) attach(w *watch.Watcher) {
	c.mu.Lock()
	c.w = w
	c.mu.Unlock()
}

// close resigns the leadership: a standby takes over at once.
func (c *watchCoordination) close() { c.camp.Stop() }

// gate lets the watcher act only while etcd confirms it leads. On taking
// over it reads the last failover first: one that never ended holds the
// watcher; one within the block blocks it as it blocked its author.
func (c *watchCoordination) gate(ctx context.Context) error {
	if err := c.camp.Check(ctx); err != nil {
		c.mu.Lock()
		c.leading = false
		c.mu.Unlock()
		return err
	}
	c.mu.Lock()
	took, w := !c.leading, c.w
	c.leading = true
	c.mu.Unlock()
	if !took || w == nil {
		return nil
	}
	last, ok, err := c.etcd.LastFailover(ctx, c.cluster)
	if err != nil {
		c.mu.Lock()
		c.leading = false // read it again at the next attempt
		c.mu.Unlock()
		return err
	}
	if !ok || last.Cleared {
		return nil
	}
	what := fmt.Sprintf("the failover of %s (%s) that %s started at %s", last.From, last.Verdict, last.By,
		last.At.UTC().Format(time.RFC3339))
	switch {
	case last.Outcome == "running":
		w.Hold(what + " has no end in etcd: that watcher stopped in the middle; check the cluster " +
			"(run check), finish or undo by hand, then POST /clear")
	case last.BlockedUntil.After(time.Now()):
		w.BlockUntil(last.BlockedUntil, what+": "+last.Outcome)
	}
	return nil
}

// around records the failover in etcd before it starts and when it ends.
// Without that record no failover starts: a watcher that takes over
// would not know of it.
func (c *watchCoordination) around(ctx context.Context, inc watch.Incident, run func() error) error {
	rec := coord.Failover{At: inc.At, Verdict: string(inc.Verdict.Kind), From: inc.Verdict.Server,
		Outcome: "running", By: c.me}
	if err := c.etcd.PutFailover(ctx, c.cluster, rec); err != nil {
		return fmt.Errorf("not started: recording it in etcd: %w", err)
	}
	err := run()
	rec.Outcome, rec.BlockedUntil = "done", inc.At.Add(c.block)
	if err != nil {
		rec.Outcome, rec.Error = "failed", err.Error()
	}
	// The record must survive the incident's own context (SIGTERM).
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if perr := c.etcd.PutFailover(pctx, c.cluster, rec); perr != nil {
		c.log(fmt.Sprintf("the failover's end could not be recorded in etcd: %v; a watcher that takes over will hold", perr))
	}
	return err
}

// clearShared marks the last failover cleared in etcd, so that a watcher
// taking over does not block again.
func (c *watchCoordination) clearShared() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	last, ok, err := c.etcd.LastFailover(ctx, c.cluster)
	if err == nil && ok {
		last.Cleared = true
		err = c.etcd.PutFailover(ctx, c.cluster, last)
	}
	if err != nil {
		c.log(fmt.Sprintf("the clear could not be recorded in etcd: %v", err))
	}
}

func (c *watchCoordination) leaderText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader
}

// report follows the leadership every second, for the status and the
// log: a line when this watcher starts or stops leading, or loses etcd's
// quorum. The quorum check is shared by the connection's clusters, and a
// standby looks the leader up (a serializable read) only when its own
// role changes and every minute: a fleet's status costs etcd little.
func (c *watchCoordination) report(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last, role, standby string
	var looked time.Time
	for {
		var now string
		switch err := c.etcd.Quorum(ctx); {
		case err != nil:
			now, role = "no quorum: not acting: "+err.Error(), "none"
		case c.camp.Leading():
			now, role = "this watcher leads: "+c.me.String(), "leader"
		default:
			if role != "standby" || time.Since(looked) > time.Minute {
				role, looked = "standby", time.Now()
				standby = "no leader yet"
				if h, ok, err := c.etcd.LeaderNow(ctx, c.cluster); err != nil {
					standby = "standby; the leader is unknown: " + err.Error()
				} else if ok {
					standby = "standby; the leader is " + h.String()
				} else {
					role = "" // nobody leads yet: look again at the next tick
				}
			}
			now = standby
		}
		c.mu.Lock()
		c.leader = now
		c.mu.Unlock()
		if now != last && ctx.Err() == nil {
			c.log("cluster " + c.cluster + ": " + now)
			last = now
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
