package coord_test

import (
	"context"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/coord"
	"github.com/replicant-lua/replicant-lua/runtime/coord/etcdtest"
)

// The etcd lock's own costs against a real 3-member cluster on loopback:
// connecting (what each run pays once), taking and releasing the lock,
// and one Verify (what each step pays).
//
//	go test -run '^$' -bench . -benchtime 200x ./runtime/coord/
func BenchmarkLock(b *testing.B) {
	c := etcdtest.Start(b, etcdtest.Options{})
	ctx := context.Background()
	cfg := coord.Config{Endpoints: c.Endpoints(), Prefix: "/bench/"}
	b.Run("open", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			e, err := coord.Open(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			e.Close()
		}
	})
	e, err := coord.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	l := &coord.Locker{Etcd: e, Cluster: "bench", Holder: coord.Me("bench", "")}
	b.Run("lock+release", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			lk, err := l.Lock(ctx, nil, false)
			if err != nil {
				b.Fatal(err)
			}
			lk.Release()
		}
	})
	lk, err := l.Lock(ctx, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	defer lk.Release()
	b.Run("verify", func(b *testing.B) {
		var worst time.Duration
		for i := 0; i < b.N; i++ {
			t0 := time.Now()
			if err := lk.Verify(ctx); err != nil {
				b.Fatal(err)
			}
			worst = max(worst, time.Since(t0))
		}
		b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
	})
}
