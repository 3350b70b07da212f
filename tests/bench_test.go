package tests

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// The procedure benchmarks: N switchovers, then N failovers, on a
// 4-server sandbox under a continuous writer (an ordinary user inserting
// numbered rows into whichever server accepts writes). They print one
// line per run and p50/max of: the write-blocked window as the writer saw
// it (its largest gap between acknowledged writes), the procedure's wall
// time, and lost and duplicated rows. Run them with a fixed count:
//
//	go test -run '^$' -bench Procedures -benchtime 10x ./tests/

var doneInRe = regexp.MustCompile(`done in ([\d.]+) ms`)

type benchRun struct {
	gap, wall, blocked time.Duration
	lost, dupes        int
}

func msOf(re *regexp.Regexp, out string) time.Duration {
	m := re.FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	return time.Duration(f * float64(time.Millisecond))
}

// gapDuring is the writer's largest gap between acknowledgements that
// ends within [from, to].
func (w *writer) gapDuring(from, to time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var max time.Duration
	for i := 1; i < len(w.ackAt); i++ {
		if w.ackAt[i].Before(from) || w.ackAt[i-1].After(to) {
			continue
		}
		if g := w.ackAt[i].Sub(w.ackAt[i-1]); g > max {
			max = g
		}
	}
	return max
}

// explainGap describes the writer's attempts inside its largest gap
// within [from, to]: how many went to each server, the slowest one, and
// the errors seen, so that a long gap can be told apart from a long
// write block (a writer stuck on a hung statement, a slow reconnect).
func (w *writer) explainGap(from, to time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var gapFrom, gapTo time.Time
	var max time.Duration
	for i := 1; i < len(w.ackAt); i++ {
		if w.ackAt[i].Before(from) || w.ackAt[i-1].After(to) {
			continue
		}
		if g := w.ackAt[i].Sub(w.ackAt[i-1]); g > max {
			max, gapFrom, gapTo = g, w.ackAt[i-1], w.ackAt[i]
		}
	}
	per := map[int]int{}
	errs := map[string]int{}
	var slow attempt
	for _, a := range w.attempts {
		if a.end.Before(gapFrom) || a.start.After(gapTo) {
			continue
		}
		per[a.target+1]++
		if a.end.Sub(a.start) > slow.end.Sub(slow.start) {
			slow = a
		}
		if a.err != nil {
			msg := a.err.Error()
			if len(msg) > 40 {
				msg = msg[:40]
			}
			errs[msg]++
		}
	}
	return fmt.Sprintf("attempts per server %v; slowest on db%d took %s (%v); errors %v", per, slow.target+1,
		slow.end.Sub(slow.start).Round(100*time.Microsecond), slow.err, errs)
}

func summarize(b *testing.B, what string, runs []benchRun) {
	pick := func(f func(benchRun) time.Duration) (time.Duration, time.Duration) {
		v := make([]time.Duration, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[len(v)/2], v[len(v)-1]
	}
	gp50, gmax := pick(func(r benchRun) time.Duration { return r.gap })
	wp50, wmax := pick(func(r benchRun) time.Duration { return r.wall })
	lost, dupes := 0, 0
	for _, r := range runs {
		lost += r.lost
		dupes += r.dupes
	}
	fmt.Printf("%s: %d runs: write-blocked (writer) p50 %s max %s; wall p50 %s max %s; lost %d, duplicated %d\n",
		what, len(runs), gp50.Round(100*time.Microsecond), gmax.Round(100*time.Microsecond),
		wp50.Round(100*time.Microsecond), wmax.Round(100*time.Microsecond), lost, dupes)
	b.ReportMetric(float64(gp50.Microseconds())/1000, "blocked-p50-ms")
	b.ReportMetric(float64(gmax.Microseconds())/1000, "blocked-max-ms")
	b.ReportMetric(float64(wp50.Microseconds())/1000, "wall-p50-ms")
	b.ReportMetric(float64(lost+dupes), "lost+dup")
}

func BenchmarkProceduresSwitchover(b *testing.B) {
	sb := sandboxtest.Start(b, sandbox.Options{Servers: 4})
	w := startWriter(b, sb)
	time.Sleep(300 * time.Millisecond)
	targets := []string{"db2", "db1"}
	var runs []benchRun
	for i := 0; i < b.N; i++ {
		to := targets[i%2]
		start := time.Now()
		r := run(b, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", to)
		end := time.Now()
		if r.code != 0 {
			b.Fatalf("switchover to %s: exit %d: %s", to, r.code, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
		run := benchRun{gap: w.gapDuring(start, end.Add(200*time.Millisecond)), wall: msOf(doneInRe, r.stdout),
			blocked: msOf(blockedRe, r.stdout)}
		fmt.Printf("switchover %d -> %s: writer gap %s, procedure wall %s (blocked by its own clock %s)\n",
			i+1, to, run.gap.Round(100*time.Microsecond), run.wall, run.blocked)
		fmt.Printf("  in the gap: %s\n", w.explainGap(start, end.Add(200*time.Millisecond)))
		runs = append(runs, run)
	}
	primary := b.N % 2 // runs alternate db2, db1: after an odd number, db2 (index 1) is the primary
	res := w.finish(b, primary)
	runs[len(runs)-1].lost, runs[len(runs)-1].dupes = res.lost, res.dupes
	fmt.Printf("writer: %d rows acknowledged, %d lost, %d duplicated\n", res.acked, res.lost, res.dupes)
	summarize(b, "switchover", runs)
}

func BenchmarkProceduresFailover(b *testing.B) {
	var runs []benchRun
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sb := sandboxtest.Start(b, sandbox.Options{Servers: 4})
		w := startWriter(b, sb)
		time.Sleep(300 * time.Millisecond)
		killPrimaryB(b, sb)
		b.StartTimer()
		start := time.Now()
		r := run(b, "", nil, "-d", sb.DeploymentPath, "run", "failover")
		end := time.Now()
		if r.code != 0 {
			b.Fatalf("failover: exit %d: %s", r.code, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
		m := regexp.MustCompile(`-> (db\d)`).FindStringSubmatch(r.stdout)
		newPrimary, _ := strconv.Atoi(m[1][2:])
		res := w.finish(b, newPrimary-1)
		run := benchRun{gap: w.gapDuring(start, end.Add(200*time.Millisecond)), wall: msOf(doneInRe, r.stdout),
			lost: res.lost, dupes: res.dupes}
		fmt.Printf("failover %d -> %s: procedure wall %s (binary %s), writer resumed after %s, lost %d, duplicated %d\n",
			i+1, m[1], run.wall, end.Sub(start).Round(100*time.Microsecond), run.gap.Round(100*time.Microsecond),
			res.lost, res.dupes)
		runs = append(runs, run)
	}
	summarize(b, "failover", runs)
}
