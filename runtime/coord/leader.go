package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Campaign is one watcher's candidacy to lead one cluster, through
// etcd's election recipe: the candidate with the oldest key under
// <prefix>clusters/<cluster>/leader leads, each key bound to its
// candidate's lease. One lease serves all the campaigns of a connection
// (Etcd.shared): a fleet's keep-alives grow with its watcher processes,
// not with its clusters. A leader that dies or is cut off from etcd loses
// its lease within the TTL, its key goes, and the next candidate leads.
//
// Leading says what this process last knew; Check asks etcd, and is
// what a watcher calls before it acts: a process paused past its TTL
// still believes it leads when it wakes up, and only etcd knows better.
type Campaign struct {
	etcd    *Etcd
	cluster string
	holder  Holder
	prefix  string

	mu       sync.Mutex
	session  *concurrency.Session
	election *concurrency.Election
	leading  bool
	err      error // why the last attempt to campaign failed

	yield  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// Campaign starts campaigning for the cluster in the background, again
// and again whenever its session ends, until Stop.
func (e *Etcd) Campaign(cluster string, h Holder) *Campaign {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Campaign{etcd: e, cluster: cluster, holder: h, prefix: e.clusterKey(cluster, "leader"),
		cancel: cancel, done: make(chan struct{}), yield: make(chan struct{}, 1)}
	go c.loop(ctx)
	return c
}

func (c *Campaign) loop(ctx context.Context) {
	defer close(c.done)
	val, _ := json.Marshal(c.holder)
	for ctx.Err() == nil {
		s, err := c.etcd.shared(ctx)
		if err != nil {
			c.set(nil, nil, false, err)
			sleep(ctx, time.Second)
			continue
		}
		el := concurrency.NewElection(s, c.prefix)
		c.set(s, el, false, nil)
		// Campaign blocks until this candidate leads; it ends with an
		// error when the session's lease expires meanwhile.
		cctx, stop := context.WithCancel(ctx)
		go func() {
			select {
			case <-s.Done():
			case <-cctx.Done():
			}
			stop()
		}()
		if err := el.Campaign(cctx, string(val)); err != nil {
			stop()
			c.set(nil, nil, false, err)
			if ctx.Err() == nil {
				sleep(ctx, 100*time.Millisecond)
			}
			continue
		}
		c.set(s, el, true, nil)
		select {
		case <-s.Done(): // the lease is gone: so is the leadership
		case <-ctx.Done():
		case <-c.yield: // resign, and campaign again behind the others
		}
		// Resign deletes this cluster's key only: the session goes on for
		// the process's other clusters.
		rctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		el.Resign(rctx)
		cancel()
		stop()
		c.set(nil, nil, false, nil)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (c *Campaign) set(s *concurrency.Session, el *concurrency.Election, leading bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.session, c.election, c.leading, c.err = s, el, leading, err
}

// Leading says whether this process leads, as far as it knows.
func (c *Campaign) Leading() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leading
}

// ErrNotLeader is a Check by a process that does not lead the cluster.
var ErrNotLeader = errors.New("not the leader")

// Check asks etcd (a linearizable read) whether this process leads the
// cluster now: its session alive and its key the oldest. It fails when
// it does not, or when etcd cannot answer (no quorum: nobody acts).
func (c *Campaign) Check(ctx context.Context) error {
	c.mu.Lock()
	s, el, leading, cerr := c.session, c.election, c.leading, c.err
	c.mu.Unlock()
	if !leading || s == nil {
		if cerr != nil {
			return fmt.Errorf("%w of %s: %w", ErrNotLeader, c.cluster, cerr)
		}
		return fmt.Errorf("%w of %s", ErrNotLeader, c.cluster)
	}
	select {
	case <-s.Done():
		return fmt.Errorf("%w of %s: its lease expired", ErrNotLeader, c.cluster)
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := c.etcd.cli.Get(ctx, c.prefix+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return c.etcd.noQuorum(err)
	}
	if len(resp.Kvs) == 0 || string(resp.Kvs[0].Key) != el.Key() {
		return fmt.Errorf("%w of %s: etcd names another leader", ErrNotLeader, c.cluster)
	}
	return nil
}

// Leader is the process that leads a cluster's watch now.
func (e *Etcd) Leader(ctx context.Context, cluster string) (h Holder, ok bool, err error) {
	return e.leader(ctx, cluster)
}

// LeaderNow is Leader from the member the connection talks to, without
// asking the quorum (a serializable read, possibly a moment stale): for
// status pages, never for a decision.
func (e *Etcd) LeaderNow(ctx context.Context, cluster string) (h Holder, ok bool, err error) {
	return e.leader(ctx, cluster, clientv3.WithSerializable())
}

func (e *Etcd) leader(ctx context.Context, cluster string, opts ...clientv3.OpOption) (h Holder, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := e.cli.Get(ctx, e.clusterKey(cluster, "leader")+"/", append(clientv3.WithFirstCreate(), opts...)...)
	if err != nil {
		return h, false, e.noQuorum(err)
	}
	if len(resp.Kvs) == 0 {
		return h, false, nil
	}
	return decodeHolder(resp.Kvs[0].Value), true, nil
}

// Yield hands the leadership to the next candidate, if this one leads
// and another waits: resign, then campaign again behind it. Balance
// calls it to spread many clusters over the watchers.
func (c *Campaign) Yield(ctx context.Context) bool {
	if !c.Leading() {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := c.etcd.cli.Get(ctx, c.prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count < 2 {
		return false
	}
	select {
	case c.yield <- struct{}{}:
		return true
	default:
		return false
	}
}

// Watchers counts the watcher processes whose lease is alive on this
// etcd (each registers itself with its campaigns' lease).
func (e *Etcd) Watchers(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := e.cli.Get(ctx, e.prefix+"watchers/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, e.noQuorum(err)
	}
	return int(resp.Count), nil
}

// Balance spreads leaderships: with n watchers alive and these
// campaigns (one process's), it yields one leadership while this process
// leads more than its share, ⌈clusters / n⌉. Called every few seconds,
// it converges in as many rounds as leaderships to hand over, one at a
// time so that no cluster is left without a leader for long.
func Balance(ctx context.Context, e *Etcd, camps []*Campaign) (yielded bool, err error) {
	n, err := e.Watchers(ctx)
	if err != nil || n < 2 {
		return false, err
	}
	share := (len(camps) + n - 1) / n
	var leading []*Campaign
	for _, c := range camps {
		if c.Leading() {
			leading = append(leading, c)
		}
	}
	if len(leading) <= share {
		return false, nil
	}
	for i := len(leading) - 1; i >= 0; i-- { // the last ones first: stable across rounds
		if leading[i].Yield(ctx) {
			return true, nil
		}
	}
	return false, nil
}

// Stop ends the campaign, resigning if it leads.
func (c *Campaign) Stop() {
	c.cancel()
	<-c.done
}
