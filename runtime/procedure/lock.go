package procedure

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// LockName is the GET_LOCK name every procedure takes. A server belongs to
// one replication cluster, so one name per server is enough to keep two
// procedures — from two operators, two machines, two deployment files —
// off the same cluster.
const LockName = "replicant-lua.procedure"

// ClusterLock is the procedure lock held on every server that answered.
type ClusterLock struct {
	locks       []*server.NamedLock
	Unreachable []string // servers that could not be asked; a dead primary is one
}

// LockCluster takes the procedure lock on every server in parallel. It
// succeeds when at least one server granted it and none holds it for
// another session: since the lock lives on every reachable server, it
// survives the death of any one of them, the primary included, and a
// second procedure is refused by the survivors.
func LockCluster(ctx context.Context, servers []*server.Server) (*ClusterLock, error) {
	type result struct {
		lock *server.NamedLock
		err  error
	}
	results := make([]result, len(servers))
	var wg sync.WaitGroup
	for i, sv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := sv.TryLock(ctx, LockName)
			results[i] = result{l, err}
		}()
	}
	wg.Wait()
	cl := &ClusterLock{}
	var held []string
	for i, r := range results {
		var he *server.LockHeldError
		switch {
		case r.err == nil:
			cl.locks = append(cl.locks, r.lock)
		case errors.As(r.err, &he):
			held = append(held, fmt.Sprintf("%s: %s", servers[i], he.Holder))
		default:
			cl.Unreachable = append(cl.Unreachable, servers[i].String())
		}
	}
	if len(held) > 0 {
		cl.Release()
		return nil, fmt.Errorf("another procedure is running on this cluster (%s); wait for it, or end that session",
			strings.Join(held, "; "))
	}
	if len(cl.locks) == 0 {
		return nil, fmt.Errorf("no server answered to take the procedure lock (%s)", strings.Join(cl.Unreachable, ", "))
	}
	return cl, nil
}

// Release gives the lock back everywhere.
func (cl *ClusterLock) Release() {
	for _, l := range cl.locks {
		l.Release()
	}
	cl.locks = nil
}
