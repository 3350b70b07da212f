package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// watch's benchmarks. Run them with a fixed count, on a quiet machine:
//
//	go test -run '^$' -bench Watch -benchtime 10x ./tests/
//
// BenchmarkWatchKill: kill -9 of the primary of a 4-server sandbox under
// the writer, watch running: how long until a replica is writable, and
// until the writer's first acknowledged write after the kill.
func BenchmarkWatchKill(b *testing.B) {
	var writable, firstWrite []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sb := sandboxtest.Start(b, sandbox.Options{Servers: 4})
		w := startWatch(b, sb)
		wr := startWriter(b, sb)
		wr.waitAcked(b, 100)
		b.StartTimer()
		killed := time.Now()
		signalPid(b, sb.Primary().Pid, syscall.SIGKILL)
		var promoted time.Duration
		for deadline := killed.Add(30 * time.Second); promoted == 0 && time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			for _, db := range wr.dbs[1:] {
				var ro int
				if err := db.QueryRow("SELECT @@GLOBAL.read_only").Scan(&ro); err == nil && ro == 0 {
					promoted = time.Since(killed)
					break
				}
			}
		}
		if promoted == 0 {
			b.Fatalf("no replica writable 30 s after the kill; watch's log:\n%s", w.stderr)
		}
		wr.waitAcked(b, 10)
		b.StopTimer()
		var first time.Duration
		wr.mu.Lock()
		for _, a := range wr.attempts { // the first write the new primary acknowledged
			if a.err == nil && a.target != 0 && a.end.After(killed) {
				first = a.end.Sub(killed)
				break
			}
		}
		wr.mu.Unlock()
		writable, firstWrite = append(writable, promoted), append(firstWrite, first)
		fmt.Printf("watch kill %d: a replica writable after %s, the writer's first write after %s\n", i+1,
			promoted.Round(100*time.Microsecond), first.Round(100*time.Microsecond))
		w.stop()
		b.StartTimer()
	}
	p50, worst := percentiles(writable)
	f50, fworst := percentiles(firstWrite)
	fmt.Printf("watch kill -9: %d runs: new primary writable p50 %s max %s; first acknowledged write p50 %s max %s\n",
		len(writable), p50, worst, f50, fworst)
	b.ReportMetric(ms(p50), "writable-p50-ms")
	b.ReportMetric(ms(worst), "writable-max-ms")
	b.ReportMetric(ms(f50), "first-write-p50-ms")
}

// BenchmarkWatchKillHAProxy: kill -9 of the primary of a 3-server
// sandbox behind a real HAProxy, watch running, a client writing through
// HAProxy's address and connecting again after each error: how long until
// its first acknowledged write after the kill (the failover's and the
// proxy's moves together).
func BenchmarkWatchKillHAProxy(b *testing.B) {
	var firstWrite []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sb := sandboxtest.Start(b, sandbox.Options{Servers: 3})
		h := startHAProxy(b, sb) // before watch: it names the proxy in the deployment
		w := startWatch(b, sb)
		wr := startProxyWriter(b, sb, h.Addr())
		wr.waitAcked(b, 100)
		b.StartTimer()
		killed := time.Now()
		signalPid(b, sb.Primary().Pid, syscall.SIGKILL)
		first, ok := wr.firstAckAfter(killed, 30*time.Second)
		b.StopTimer()
		if !ok {
			b.Fatalf("no write through haproxy acknowledged 30 s after the kill; watch's log:\n%s", w.stderr)
		}
		firstWrite = append(firstWrite, first)
		fmt.Printf("watch kill through haproxy %d: first acknowledged write after %s\n", i+1, first.Round(100*time.Microsecond))
		wr.close()
		w.stop()
		b.StartTimer()
	}
	p50, worst := percentiles(firstWrite)
	fmt.Printf("watch kill -9 through haproxy: %d runs: first acknowledged write p50 %s max %s\n", len(firstWrite), p50, worst)
	b.ReportMetric(ms(p50), "first-write-p50-ms")
	b.ReportMetric(ms(worst), "first-write-max-ms")
}

// BenchmarkWatchStop: SIGSTOP of the primary of a 3-server sandbox,
// watch with its default settings: how long until its failover is done
// (the primary judged hung once its replicas received nothing for two
// heartbeat periods, fenced, failed over).
func BenchmarkWatchStop(b *testing.B) {
	var done []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sb := sandboxtest.Start(b, sandbox.Options{Servers: 3})
		w := startWatch(b, sb)
		pid := sb.Primary().Pid
		b.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
		b.StartTimer()
		stopped := time.Now()
		signalPid(b, pid, syscall.SIGSTOP)
		var took time.Duration
		for deadline := stopped.Add(60 * time.Second); took == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if st := w.status(); st.Last != nil && st.Last.Outcome == "done" {
				took = time.Since(stopped)
			}
		}
		b.StopTimer()
		if took == 0 {
			b.Fatalf("no failover done 60 s after SIGSTOP; watch's log:\n%s", w.stderr)
		}
		done = append(done, took)
		fmt.Printf("watch SIGSTOP %d: failover done after %s\n", i+1, took.Round(time.Millisecond))
		w.stop()
		b.StartTimer()
	}
	p50, worst := percentiles(done)
	fmt.Printf("watch SIGSTOP: %d runs: failover done p50 %s max %s\n", len(done), p50, worst)
	b.ReportMetric(ms(p50), "done-p50-ms")
	b.ReportMetric(ms(worst), "done-max-ms")
}

// BenchmarkWatchStall: stalls of the primary (SIGSTOP for 500 ms, then
// SIGCONT, 2 s apart), REPLICANT_BENCH_STALLS of them (default 5) per
// iteration: each one that watch fails over is a false failover.
func BenchmarkWatchStall(b *testing.B) {
	stalls := envInt(b, "REPLICANT_BENCH_STALLS", 5)
	sb := sandboxtest.Start(b, sandbox.Options{Servers: 3})
	w := startWatch(b, sb)
	pid := sb.Primary().Pid
	b.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	done := 0
	for i := 0; i < b.N; i++ {
		for j := 0; j < stalls && w.status().Failovers == 0; j++ {
			signalPid(b, pid, syscall.SIGSTOP)
			time.Sleep(500 * time.Millisecond)
			signalPid(b, pid, syscall.SIGCONT)
			time.Sleep(2 * time.Second)
			done++
		}
	}
	false_ := w.status().Failovers
	fmt.Printf("watch stalls: %d stalls of 500 ms: %d false failover(s)\n", done, false_)
	b.ReportMetric(float64(false_), "false-failovers")
	b.ReportMetric(float64(done), "stalls")
}

// BenchmarkWatchCost: watch's own CPU and memory watching 1 and 16
// clusters at a 250 ms interval for REPLICANT_BENCH_COST (a duration,
// default 30s) each, after 5 s of warm-up (the 16 are copies of one
// sandbox's deployment, so the servers are shared; watch's cost is the
// same as for 16 separate clusters). REPLICANT_BENCH_COST_CLUSTERS
// ("1,16") chooses the counts. It prints the RSS at the start and the
// end, to show whether memory stays flat, and the load average.
func BenchmarkWatchCost(b *testing.B) {
	dur := 30 * time.Second
	if v := os.Getenv("REPLICANT_BENCH_COST"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("REPLICANT_BENCH_COST: %v", err)
		}
		dur = d
	}
	counts := []int{1, 16}
	if v := os.Getenv("REPLICANT_BENCH_COST_CLUSTERS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("REPLICANT_BENCH_COST_CLUSTERS %q: want counts like 1,16", v)
			}
			counts = append(counts, n)
		}
	}
	sb := sandboxtest.Start(b, sandbox.Options{Servers: 3})
	for _, n := range counts {
		var extra []string
		if n > 1 { // one -d DIR for the other n-1
			dir := b.TempDir()
			src, err := os.ReadFile(sb.DeploymentPath)
			if err != nil {
				b.Fatal(err)
			}
			for i := 1; i < n; i++ {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("cluster%02d.lua", i)), src, 0o600); err != nil {
					b.Fatal(err)
				}
			}
			extra = append(extra, "-d", dir)
		}
		for i := 0; i < b.N; i++ {
			w := startWatch(b, sb, extra...)
			pid := w.cmd.Process.Pid
			time.Sleep(5 * time.Second) // warmed up: every session open
			cpu0, rss0 := procCost(b, pid)
			start := time.Now()
			time.Sleep(dur)
			cpu1, rss1 := procCost(b, pid)
			share := (cpu1 - cpu0).Seconds() / time.Since(start).Seconds() * 100
			load, _ := os.ReadFile("/proc/loadavg")
			fmt.Printf("watch cost: %d cluster(s) at 250 ms for %s: %.1f %% of one core; RSS %d kB after 5 s, %d kB at the end; load average %s\n",
				n, dur, share, rss0, rss1, strings.Join(strings.Fields(string(load))[:3], " "))
			b.ReportMetric(share, fmt.Sprintf("cpu-%%-%d-clusters", n))
			b.ReportMetric(float64(rss0), fmt.Sprintf("rss-start-kB-%d-clusters", n))
			b.ReportMetric(float64(rss1), fmt.Sprintf("rss-end-kB-%d-clusters", n))
			w.stop()
		}
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive count", name, v)
	}
	return n
}

// procCost is a process's CPU time (user and system) and resident size.
func procCost(b *testing.B, pid int) (time.Duration, int) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.Atoi(f[11]) // fields 14 and 15 of stat, in clock ticks (100 Hz)
	stime, _ := strconv.Atoi(f[12])
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	rss := 0
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss, _ = strconv.Atoi(strings.Fields(v)[0])
		}
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, rss
}

func percentiles(v []time.Duration) (p50, worst time.Duration) {
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(100 * time.Microsecond), s[len(s)-1].Round(100 * time.Microsecond)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
