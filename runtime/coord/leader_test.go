package coord_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/coord"
	"github.com/replicant-lua/replicant-lua/runtime/coord/etcdtest"
)

func waitUntil(t *testing.T, what string, within time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// One leader per cluster: the first candidate leads and etcd confirms
// it; the other does not, and Check says so. The leader's connection
// closed, the standby leads (a leader that dies without closing loses
// its lease within the TTL: tests/watch_coord_test.go kills one). Without a quorum, nobody passes Check.
func TestOneLeaderAndATakeover(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{})
	ctx := context.Background()
	a, b := open(t, c, 2*time.Second), open(t, c, 2*time.Second)
	first := a.Campaign("shop", coord.Me("watch", "first"))
	waitUntil(t, "the first leads", 5*time.Second, first.Leading)
	second := b.Campaign("shop", coord.Me("watch", "second"))
	defer second.Stop()
	time.Sleep(300 * time.Millisecond)
	if second.Leading() {
		t.Fatal("two leaders")
	}
	if err := first.Check(ctx); err != nil {
		t.Fatalf("leader's check: %v", err)
	}
	if err := second.Check(ctx); !errors.Is(err, coord.ErrNotLeader) {
		t.Fatalf("standby's check: %v", err)
	}
	if h, ok, err := b.Leader(ctx, "shop"); err != nil || !ok || h.RunID != "first" {
		t.Fatalf("leader seen from the standby: %+v %v %v", h, ok, err)
	}
	a.Close() // its lease revoked: the standby leads at once
	took := waitUntil(t, "the standby takes over", 3*2*time.Second, second.Leading)
	t.Logf("takeover %s after the leader's connection closed", took.Round(10*time.Millisecond))
	if err := second.Check(ctx); err != nil {
		t.Fatalf("new leader's check: %v", err)
	}
	c.Members[0].Stop()
	c.Members[1].Stop()
	if err := second.Check(ctx); !errors.Is(err, coord.ErrNoQuorum) {
		t.Fatalf("check without a quorum: %v", err)
	}
}

// Stop resigns: the standby leads at once, not after the TTL.
func TestResignHandsOver(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{})
	a, b := open(t, c, 5*time.Second), open(t, c, 5*time.Second)
	first := a.Campaign("shop", coord.Me("watch", "first"))
	waitUntil(t, "the first leads", 5*time.Second, first.Leading)
	second := b.Campaign("shop", coord.Me("watch", "second"))
	defer second.Stop()
	first.Stop()
	took := waitUntil(t, "the standby takes over", 2*time.Second, second.Leading)
	t.Logf("handover %s after resign", took.Round(time.Millisecond))
}
