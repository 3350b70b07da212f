package coord_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/coord"
	"github.com/replicant-lua/replicant-lua/runtime/coord/etcdtest"
)

func open(t *testing.T, c *etcdtest.Cluster, ttl time.Duration) *coord.Etcd {
	t.Helper()
	cfg := coord.Config{Endpoints: c.Endpoints(), TTL: ttl, Prefix: "/test/"}
	if c.TLS != nil {
		cfg.CA, cfg.Cert, cfg.Key = c.TLS.CA, c.TLS.ClientCert, c.TLS.ClientKey
	}
	e, err := coord.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestParseURL(t *testing.T) {
	c, err := coord.ParseURL("etcd://127.0.0.1:2379,[::1]:2380,etcd.example:2379")
	if err != nil || strings.Join(c.Endpoints, " ") != "127.0.0.1:2379 [::1]:2380 etcd.example:2379" {
		t.Errorf("got %v, %v", c.Endpoints, err)
	}
	for _, bad := range []string{"http://127.0.0.1:2379", "etcd://", "etcd://host", "etcd://h:0", "etcd://h:2379,"} {
		if _, err := coord.ParseURL(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// Two processes (here: two connections) never hold a cluster's lock at
// once; the second is told who holds it; another cluster's lock is
// independent; a released lock can be taken again.
func TestLockIsExclusiveAndNamesItsHolder(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{})
	a, b := open(t, c, 0), open(t, c, 0)
	ctx := context.Background()
	first := &coord.Locker{Etcd: a, Cluster: "shop", Holder: coord.Me("run switchover", "run-1")}
	lk, err := first.Lock(ctx, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	second := &coord.Locker{Etcd: b, Cluster: "shop", Holder: coord.Me("watch", "")}
	_, err = second.Lock(ctx, nil, false)
	var held *coord.LockHeldError
	if !errors.As(err, &held) || held.Holder.What != "run switchover" || held.Holder.RunID != "run-1" ||
		!strings.Contains(err.Error(), "held in etcd by run switchover (pid ") {
		t.Fatalf("second lock: %v", err)
	}
	// --force-lock does not take a lock that is held.
	if _, err := second.Lock(ctx, nil, true); !errors.As(err, &held) {
		t.Fatalf("forced second lock: %v", err)
	}
	other := &coord.Locker{Etcd: b, Cluster: "billing", Holder: coord.Me("watch", "")}
	if lk2, err := other.Lock(ctx, nil, false); err != nil {
		t.Fatalf("another cluster: %v", err)
	} else {
		lk2.Release()
	}
	if err := lk.Verify(ctx); err != nil {
		t.Fatalf("verify: %v", err)
	}
	lk.Release()
	lk3, err := second.Lock(ctx, nil, false)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	lk3.Release()
}

// A lease revoked from outside (etcdctl, as an operator or an expiry
// would) and a key deleted both make Verify fail: the procedure stops.
func TestLockLostWhenItsLeaseGoes(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{})
	e := open(t, c, 0)
	ctx := context.Background()
	l := &coord.Locker{Etcd: e, Cluster: "shop", Holder: coord.Me("run switchover", "")}
	lk, err := l.Lock(ctx, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := lk.StepCheck(); err != nil {
		t.Fatalf("step check of a fresh lock: %v", err)
	}
	lease := leaseOf(t, lk.Summary())
	if out, err := c.Etcdctl("lease", "revoke", lease); err != nil {
		t.Fatalf("etcdctl lease revoke %s: %v: %s", lease, err, out)
	}
	if err := lk.Verify(ctx); !errors.Is(err, coord.ErrLockLost) {
		t.Fatalf("verify after revoke: %v", err)
	}
	// The step check, which asks nothing, learns it at the next renewal
	// (every third of the TTL).
	took := waitUntil(t, "the step check to see the revoke", e.TTL(), func() bool { return lk.StepCheck() != nil })
	t.Logf("step check failed %s after the revoke (ttl %s): %v", took.Round(time.Millisecond), e.TTL(), lk.StepCheck())
	lk.Release()

	lk, err = l.Lock(ctx, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release()
	if out, err := c.Etcdctl("del", "/test/clusters/shop/lock"); err != nil {
		t.Fatalf("etcdctl del: %v: %s", err, out)
	}
	if err := lk.Verify(ctx); !errors.Is(err, coord.ErrLockLost) || !strings.Contains(err.Error(), "is gone") {
		t.Fatalf("verify after delete: %v", err)
	}
}

// leaseOf reads the lease id (hex) from a lock's summary.
func leaseOf(t *testing.T, summary string) string {
	t.Helper()
	_, rest, ok := strings.Cut(summary, "lease ")
	if !ok {
		t.Fatalf("no lease in %q", summary)
	}
	return strings.Fields(rest)[0]
}

// Without a quorum (2 of 3 members stopped) no lock is granted, a held
// one no longer verifies, and --force-lock grants a lock that says it is
// none. With the members back, locking works again.
func TestNoQuorumNoLock(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{})
	e := open(t, c, 0)
	ctx := context.Background()
	l := &coord.Locker{Etcd: e, Cluster: "shop", Holder: coord.Me("run switchover", "")}
	lk, err := l.Lock(ctx, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	c.Members[1].Stop()
	c.Members[2].Stop()
	if err := lk.Verify(ctx); !errors.Is(err, coord.ErrLockLost) || !errors.Is(err, coord.ErrNoQuorum) {
		t.Errorf("verify without quorum: %v", err)
	}
	lk.Release()
	if _, err := l.Lock(ctx, nil, false); !errors.Is(err, coord.ErrNoQuorum) {
		t.Errorf("lock without quorum: %v", err)
	}
	forced, err := l.Lock(ctx, nil, true)
	if err != nil || !strings.HasPrefix(forced.Summary(), "FORCED: no lock held") {
		t.Errorf("forced lock without quorum: %v, %v", forced, err)
	}
	for _, m := range c.Members[1:] {
		if err := m.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range c.Members {
		c.WaitHealthy(m, 30*time.Second)
	}
	// The old lease may outlive the outage (leases are extended across a
	// leader change): wait for it to expire rather than assume.
	var again error
	for deadline := time.Now().Add(3 * e.TTL()); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var lk2 interface{ Release() }
		if lk2, again = l.Lock(ctx, nil, false); again == nil {
			lk2.Release()
			break
		}
	}
	if again != nil {
		t.Errorf("lock after the members came back: %v", again)
	}
}

// With TLS and client certificates: the client with its certificate gets
// the lock, one without it is refused by etcd.
func TestLockOverTLS(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{TLS: true})
	e := open(t, c, 0)
	lk, err := (&coord.Locker{Etcd: e, Cluster: "shop", Holder: coord.Me("watch", "")}).Lock(context.Background(), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	lk.Release()
	_, err = coord.Open(context.Background(), coord.Config{Endpoints: c.Endpoints(), CA: c.TLS.CA, DialTimeout: time.Second})
	if err == nil {
		t.Fatal("a client without a certificate was let in")
	}
	if !strings.Contains(err.Error(), c.Endpoints()[0]) {
		t.Errorf("the error does not name the endpoints: %v", err)
	}
	t.Logf("without a client certificate: %v", err)
}
