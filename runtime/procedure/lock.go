package procedure

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// LockName is the GET_LOCK name every procedure takes. A server belongs to
// one replication cluster, so one name per server is enough to keep two
// procedures — from two operators, two machines, two deployment files —
// off the same cluster.
const LockName = "replicant-lua.procedure"

// Lock is a cluster's procedure lock, held until Release. Verify says
// whether it is still held: a procedure checks it before each change it
// cannot take back, and stops when it is lost.
type Lock interface {
	Verify(ctx context.Context) error
	Release()
	// Summary says where the lock is held, and whether it was forced.
	Summary() string
	// Renew takes the lock again on a server the procedure itself just
	// restarted (its session ended with the server): an error when
	// another session took it meanwhile.
	Renew(ctx context.Context, sv *server.Server) error
	// StepCheck is the check before each step ahead of the point of no
	// return, where Verify is not made: it must cost no round trip, since
	// those steps include the write-blocked window. etcd's lock answers
	// from its lease's last renewal; GET_LOCK has none (nil), its sessions
	// are verified from the point of no return on.
	StepCheck() error
}

// Locker takes a cluster's procedure lock. force grants it with fewer
// than a majority of the servers (at least one): for the operator who
// knows the others are gone.
type Locker interface {
	Lock(ctx context.Context, servers []*server.Server, force bool) (Lock, error)
}

// GetLocker is the Locker on the servers themselves: a GET_LOCK session
// on each.
type GetLocker struct{}

// ClusterLock is the procedure lock held by a GET_LOCK session on each
// server that granted it.
type ClusterLock struct {
	locks  []*server.NamedLock
	owners []*server.Server // the server of each lock
	total  int              // servers asked
	need   int              // sessions that must still hold it
	forced bool             // granted by fewer than a majority
	// Refused lists the servers that did not grant it, each with its reason.
	Refused []string
}

// VerifyTimeout bounds the check of each lock session.
const VerifyTimeout = 5 * time.Second

// LockError is a lock that was not granted, with every server's reason.
type LockError struct {
	Message string
	Errs    []error
}

func (e *LockError) Error() string   { return e.Message }
func (e *LockError) Unwrap() []error { return e.Errs }

// Lock takes the procedure lock on every server in parallel. It is
// granted when a majority of servers grant it and none holds it for
// another session: two operators on two sides of a partition cannot both
// have a majority, and a cluster that lost one server of three (a dead
// primary) still has two. Force grants it with any one server.
func (GetLocker) Lock(ctx context.Context, servers []*server.Server, force bool) (Lock, error) {
	locks, errs := tryLockAll(ctx, servers)
	cl := &ClusterLock{total: len(servers), need: len(servers)/2 + 1}
	var held, reasons []string
	var failures []error
	for i, err := range errs {
		var he *server.LockHeldError
		switch {
		case err == nil:
			cl.locks = append(cl.locks, locks[i])
			cl.owners = append(cl.owners, servers[i])
		case errors.As(err, &he):
			held = append(held, fmt.Sprintf("%s: %s", servers[i], he.Holder))
		default:
			reasons = append(reasons, err.Error())
			failures = append(failures, err)
		}
	}
	cl.Refused = reasons
	if len(held) > 0 {
		cl.Release()
		return nil, fmt.Errorf("another procedure is running on this cluster (%s); wait for it, or end that session",
			strings.Join(held, "; "))
	}
	granted := len(cl.locks)
	if granted >= cl.need || (force && granted > 0) {
		cl.forced = granted < cl.need
		if cl.forced {
			cl.need = granted // forced: every session granted must stay
		}
		return cl, nil
	}
	cl.Release()
	msg := fmt.Sprintf("procedure lock granted by %d of %d servers, a majority is %d (--force-lock takes it with fewer, "+
		"when you know the others are down): %s", granted, len(servers), len(servers)/2+1, strings.Join(reasons, "; "))
	return nil, &LockError{Message: msg, Errs: failures}
}

func tryLockAll(ctx context.Context, servers []*server.Server) ([]*server.NamedLock, []error) {
	locks := make([]*server.NamedLock, len(servers))
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, sv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			locks[i], errs[i] = sv.TryLock(ctx, LockName)
		}()
	}
	wg.Wait()
	return locks, errs
}

// Verify checks every lock session at once (IS_USED_LOCK on each must
// still name it). The lock is lost when fewer sessions than it was granted
// on need hold it: a majority, or under force, every one.
func (cl *ClusterLock) Verify(ctx context.Context) error {
	errs := make([]error, len(cl.locks))
	var wg sync.WaitGroup
	for i, l := range cl.locks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vctx, cancel := context.WithTimeout(ctx, VerifyTimeout)
			defer cancel()
			errs[i] = l.Held(vctx)
		}()
	}
	wg.Wait()
	still := 0
	var lost []string
	for _, err := range errs {
		if err == nil {
			still++
		} else {
			lost = append(lost, err.Error())
		}
	}
	if still >= cl.need {
		return nil
	}
	return fmt.Errorf("procedure lock lost: held on %d of %d servers, %d needed (%s); stopping before another change",
		still, cl.total, cl.need, strings.Join(lost, "; "))
}

// Summary implements Lock.
// StepCheck has nothing to check without asking every server.
func (cl *ClusterLock) StepCheck() error { return nil }

func (cl *ClusterLock) Summary() string {
	s := fmt.Sprintf("procedure lock held on %d of %d servers", len(cl.locks), cl.total)
	if cl.forced {
		s += ", FORCED (--force-lock) without a majority"
	}
	if len(cl.Refused) > 0 {
		s += "; not on: " + strings.Join(cl.Refused, "; ")
	}
	return s
}

// Renew implements Lock. A server the lock was not held on is left so: it
// did not count when the lock was granted.
func (cl *ClusterLock) Renew(ctx context.Context, sv *server.Server) error {
	for i, owner := range cl.owners {
		if owner != sv {
			continue
		}
		cl.locks[i].Release()
		l, err := sv.TryLock(ctx, LockName)
		var he *server.LockHeldError
		if errors.As(err, &he) {
			return fmt.Errorf("procedure lock lost on %s while it restarted: %w", sv, err)
		}
		if err == nil {
			cl.locks[i] = l
		}
		// Not answering yet: Verify counts it as not held.
	}
	return nil
}

// Release gives the lock back everywhere.
func (cl *ClusterLock) Release() {
	for _, l := range cl.locks {
		l.Release()
	}
	cl.locks, cl.owners = nil, nil
}
