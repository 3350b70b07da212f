package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/replicant-lua/replicant-lua/runtime/procedure"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// LockHeldError is a procedure lock that another process holds.
type LockHeldError struct {
	Cluster string
	Holder  Holder
}

func (e *LockHeldError) Error() string {
	return fmt.Sprintf("the procedure lock of cluster %s is held in etcd by %s", e.Cluster, e.Holder)
}

// ErrLockLost is a lock whose lease expired or whose key is no longer
// the holder's.
var ErrLockLost = errors.New("the procedure lock in etcd was lost")

// Locker is the procedure lock of one cluster in etcd: one key,
// <prefix>clusters/<cluster>/lock, created only if absent and bound to a
// lease of its holder. The servers are not asked: etcd's quorum decides.
type Locker struct {
	// Etcd is the connection; nil: Config is opened at the first Lock
	// (a run that takes no lock never talks to etcd) and closed by Close.
	Etcd    *Etcd
	Config  Config
	Cluster string
	Holder  Holder

	opened bool
}

// Close ends the connection Lock opened, if any.
func (l *Locker) Close() {
	if l.opened && l.Etcd != nil {
		l.Etcd.Close()
	}
}

var _ procedure.Locker = (*Locker)(nil)

// Lock takes the cluster's lock, or fails naming its holder. force does
// not take a lock another process holds: without etcd's answer it grants
// a lock that is not one, for the operator who knows no other host acts
// (the Summary says so).
func (l *Locker) Lock(ctx context.Context, _ []*server.Server, force bool) (procedure.Lock, error) {
	lk, err := l.lock(ctx)
	if err != nil && force && errors.Is(err, ErrNoQuorum) {
		return &forcedLock{why: err}, nil
	}
	if err != nil {
		return nil, &procedure.LockError{Message: err.Error(), Errs: []error{err}}
	}
	return lk, nil
}

func (l *Locker) lock(ctx context.Context) (*Lock, error) {
	if l.Etcd == nil {
		e, err := Open(ctx, l.Config)
		if err != nil {
			return nil, err
		}
		l.Etcd, l.opened = e, true
	}
	e := l.Etcd
	s, err := e.keep(ctx)
	if err != nil {
		return nil, err
	}
	val, _ := json.Marshal(l.Holder)
	key := e.clusterKey(l.Cluster, "lock")
	tctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := e.cli.Txn(tctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(val), clientv3.WithLease(s.id))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		s.close()
		return nil, e.noQuorum(err)
	}
	if !resp.Succeeded {
		s.close()
		h := Holder{What: "a process that just released it"}
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			h = decodeHolder(kvs[0].Value)
		}
		return nil, &LockHeldError{Cluster: l.Cluster, Holder: h}
	}
	return &Lock{etcd: e, lease: s, key: key, rev: resp.Header.Revision, cluster: l.Cluster}, nil
}

// Lock is a held procedure lock.
type Lock struct {
	etcd    *Etcd
	lease   *keeper
	key     string
	rev     int64 // the revision that created the key
	cluster string
}

// Verify checks, with a linearizable read, that the key still exists
// with the revision and the lease this holder created it with. A lease
// that expired (the process paused past its TTL, etcd cut off), was
// revoked, or a key someone deleted: the lock is lost.
func (l *Lock) Verify(ctx context.Context) error {
	if err := l.StepCheck(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := l.etcd.cli.Get(ctx, l.key)
	if err != nil {
		return fmt.Errorf("%w: it cannot be checked: %w", ErrLockLost, l.etcd.noQuorum(err))
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("%w: its key %s is gone (lease %x expired, revoked, or the key deleted)",
			ErrLockLost, l.key, l.lease.id)
	}
	kv := resp.Kvs[0]
	if kv.CreateRevision != l.rev || clientv3.LeaseID(kv.Lease) != l.lease.id {
		return fmt.Errorf("%w: %s now belongs to %s", ErrLockLost, l.key, decodeHolder(kv.Value))
	}
	return nil
}

// StepCheck answers without a round trip: the lease is alive while etcd
// renewed it less than half its TTL ago (a renewal keeps it a whole TTL
// from when it was asked). A revoked lease shows at its next renewal;
// a deleted key only at Verify.
func (l *Lock) StepCheck() error { return l.lease.alive() }

// Release revokes the lease, which deletes the key with it: one write.
func (l *Lock) Release() { l.lease.close() }

// Summary says where the lock is held.
func (l *Lock) Summary() string {
	return fmt.Sprintf("etcd %s, key %s, lease %x (ttl %s)", l.etcd.where(), l.key, l.lease.id, l.etcd.ttl)
}

// Renew has nothing to do: the lock does not live on a server.
func (l *Lock) Renew(context.Context, *server.Server) error { return nil }

// forcedLock is --force-lock without etcd: no lock at all, said so.
type forcedLock struct{ why error }

func (f *forcedLock) Verify(context.Context) error                { return nil }
func (f *forcedLock) Release()                                    {}
func (f *forcedLock) Renew(context.Context, *server.Server) error { return nil }
func (f *forcedLock) StepCheck() error                            { return nil }
func (f *forcedLock) Summary() string {
	return "FORCED: no lock held (" + f.why.Error() + "); nothing keeps another host from acting"
}
