package coord

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// keeper holds a lease alive and remembers when etcd last renewed it,
// so that a lock can say it still holds without asking (StepCheck).
type keeper struct {
	e      *Etcd
	id     clientv3.LeaseID
	ttl    time.Duration
	cancel context.CancelFunc

	mu      sync.Mutex
	renewed time.Time // when the last renewal was asked for
	ended   error     // why the keep-alive stopped
}

// keep grants a lease of the connection's TTL and renews it every
// third of it, until close.
func (e *Etcd) keep(ctx context.Context) (*keeper, error) {
	gctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	asked := time.Now()
	g, err := e.cli.Grant(gctx, int64(e.ttl/time.Second))
	if err != nil {
		return nil, e.noQuorum(err)
	}
	kctx, stop := context.WithCancel(context.Background())
	ch, err := e.cli.KeepAlive(kctx, g.ID)
	if err != nil {
		stop()
		return nil, e.noQuorum(err)
	}
	k := &keeper{e: e, id: g.ID, ttl: time.Duration(g.TTL) * time.Second, cancel: stop, renewed: asked}
	go func() {
		// The client sends a renewal every TTL/3; each answer here
		// follows one. Its send time is not given: the answer's arrival
		// minus half the TTL stands for it, which holds while a renewal's
		// round trip takes less than that (seconds, where loopback takes
		// a millisecond). The point of no return does not rely on it:
		// Verify asks etcd there.
		for r := range ch {
			k.mu.Lock()
			if r.TTL > 0 {
				k.renewed = time.Now().Add(-k.ttl / 2)
			}
			k.mu.Unlock()
		}
		k.mu.Lock()
		if k.ended == nil {
			k.ended = fmt.Errorf("%w: its lease %x expired or was revoked", ErrLockLost, g.ID)
		}
		k.mu.Unlock()
	}()
	return k, nil
}

// alive says whether the lease holds now: a renewal asked for less than
// a TTL ago (see keep), and its keep-alive running.
func (k *keeper) alive() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ended != nil {
		return k.ended
	}
	if age := time.Since(k.renewed); age > k.ttl {
		return fmt.Errorf("%w: its lease %x was last renewed %s ago (ttl %s)", ErrLockLost, k.id,
			age.Round(time.Millisecond), k.ttl)
	}
	return nil
}

// close stops the renewals and revokes the lease (bounded: without a
// quorum it expires by itself).
func (k *keeper) close() {
	k.mu.Lock()
	if k.ended == nil {
		k.ended = fmt.Errorf("%w: released", ErrLockLost)
	}
	k.mu.Unlock()
	k.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	k.e.cli.Revoke(ctx, k.id)
}
