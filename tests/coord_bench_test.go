package tests

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/coord/etcdtest"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// What the etcd lock adds to a switchover: N switchovers under the
// writer, alternately with the lock in a real 3-member etcd and with
// GET_LOCK on the servers, p50 and max of each (goal: ≤ 20 ms added to
// the wall, nothing to the write-blocked window).
//
//	go test -run '^$' -bench CoordinatorLock -benchtime 20x ./tests/
func BenchmarkCoordinatorLock(b *testing.B) {
	ec := etcdtest.Start(b, etcdtest.Options{})
	sb := sandboxtest.Start(b, sandbox.Options{Servers: 4})
	coordinated(b, sb, ec, "5s")
	plain := filepath.Join(filepath.Dir(sb.DeploymentPath), "uncoordinated-deployment.lua")
	w := startWriter(b, sb)
	time.Sleep(300 * time.Millisecond)
	targets := []string{"db2", "db1"}
	var with, without []benchRun
	for i := 0; i < b.N; i++ {
		to, dep, kind := targets[i%2], plain, "GET_LOCK"
		if i%4 >= 2 { // pairs of each, so both kinds move the primary both ways
			dep, kind = sb.DeploymentPath, "etcd"
		}
		start := time.Now()
		r := run(b, "", nil, "-d", dep, "run", "switchover", "--", "--to", to)
		end := time.Now()
		if r.code != 0 {
			b.Fatalf("switchover to %s (%s): exit %d: %s", to, kind, r.code, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
		one := benchRun{gap: w.gapDuring(start, end.Add(200*time.Millisecond)), wall: msOf(doneInRe, r.stdout)}
		fmt.Printf("switchover %d -> %s with %s: writer gap %s, wall %s\n", i+1, to, kind,
			one.gap.Round(100*time.Microsecond), one.wall)
		if kind == "etcd" {
			with = append(with, one)
		} else {
			without = append(without, one)
		}
	}
	res := w.finish(b, b.N%2)
	fmt.Printf("writer: %d rows acknowledged, %d lost, %d duplicated\n", res.acked, res.lost, res.dupes)
	if len(with) > 0 {
		summarize(b, "switchover, lock in etcd", with)
	}
	if len(without) > 0 {
		summarize(b, "switchover, GET_LOCK", without)
	}
}

// How long a standby takes to lead once the leading watcher is killed
// (kill -9: no resign), with a 2 s lease: N takeovers, p50 and max.
//
//	go test -run '^$' -bench WatchTakeover -benchtime 5x ./tests/
func BenchmarkWatchTakeover(b *testing.B) {
	ec := etcdtest.Start(b, etcdtest.Options{})
	sb := sandboxtest.Start(b, sandbox.Options{Servers: 3})
	coordinated(b, sb, ec, "2s")
	leads := func(w *watcher) bool { return strings.HasPrefix(leaderOf(w), "this watcher leads") }
	cur := startWatch(b, sb)
	waitFor(b, "a leader", func() bool { return leads(cur) })
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		next := startWatch(b, sb)
		waitFor(b, "a standby", func() bool { return strings.HasPrefix(leaderOf(next), "standby; ") })
		cur.cmd.Process.Kill()
		<-cur.done
		killed := time.Now()
		for !leads(next) {
			time.Sleep(10 * time.Millisecond)
		}
		took = append(took, time.Since(killed))
		fmt.Printf("takeover %d: %s\n", i+1, took[i].Round(time.Millisecond))
		cur = next
	}
	p50, worst := percentiles(took)
	fmt.Printf("standby takeover after kill -9 of the leader (ttl 2s, status polled every 1s): p50 %s, max %s\n",
		p50.Round(time.Millisecond), worst.Round(time.Millisecond))
	b.ReportMetric(ms(p50), "takeover-p50-ms")
}
