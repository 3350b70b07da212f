package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// sysbench runs sysbench oltp_write_only as the application user against
// one server. It needs the Debian package (scripts/install-deps.sh).
func sysbench(t testing.TB, sb *sandbox.Sandbox, in sandbox.Instance, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("sysbench")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("sysbench not installed (scripts/install-deps.sh installs it): %v", err)
		}
		t.Skip("sysbench not installed")
	}
	pw, err := sb.AppUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"oltp_write_only", "--db-driver=mysql", "--mysql-host=127.0.0.1",
		"--mysql-port=" + strconv.Itoa(in.Port), "--mysql-user=" + sb.AppUser.Name, "--mysql-password=" + pw,
		"--mysql-db=sbtest", "--tables=2", "--table-size=2000"}
	return exec.Command(bin, append(base, args...)...)
}

// TestFailoverAndRejoinUnderSysbench kills the primary under a real
// client writing at full speed, fails over, lets the new primary take
// writes, restarts the old primary and rejoins it. Whatever the kill left
// (commits of the old primary nobody received, or none), the procedures
// must not break replication: failover promotes a replica the others can
// follow; the restarted old primary is read-only; rejoin either refuses
// it, naming its transactions, and leaves it untouched, or rejoins it and
// it converges.
//
// In the second case the replicas' receivers are stopped under load before
// the kill, so the old primary surely holds commits nobody received:
// rejoin must refuse it.
func TestFailoverAndRejoinUnderSysbench(t *testing.T) {
	t.Run("receivers connected", func(t *testing.T) { failoverUnderSysbench(t, false) })
	t.Run("receivers stopped before the kill", func(t *testing.T) { failoverUnderSysbench(t, true) })
}

func failoverUnderSysbench(t *testing.T, cutReplicas bool) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	primary := sb.Primary()
	db1 := connect(t, sb, primary)
	ctx := context.Background()
	if _, err := db1.Exec(ctx, "CREATE DATABASE sbtest"); err != nil {
		t.Fatal(err)
	}
	if out, err := sysbench(t, sb, primary, "prepare").CombinedOutput(); err != nil {
		t.Fatalf("sysbench prepare: %v\n%s", err, out)
	}
	load := sysbench(t, sb, primary, "--threads=4", "--time=60", "--report-interval=0", "run")
	var loadOut strings.Builder
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = load.Process.Kill(); _ = load.Wait() })
	start, err := db1.GTIDExecuted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sysbench to commit 500 transactions", func() bool {
		g, err := db1.GTIDExecuted(ctx)
		return err == nil && seqOf(g.String())-seqOf(start.String()) >= 500
	})
	if cutReplicas {
		for _, in := range sb.Instances[1:] {
			if _, err := connect(t, sb, in).Exec(ctx, "STOP SLAVE IO_THREAD"); err != nil {
				t.Fatal(err)
			}
		}
		cut, _ := db1.GTIDExecuted(ctx)
		waitFor(t, "sysbench to commit past the replicas", func() bool {
			g, err := db1.GTIDExecuted(ctx)
			return err == nil && seqOf(g.String()) > seqOf(cut.String())+50
		})
	}
	killPrimary(t, sb)
	_ = load.Process.Signal(syscall.SIGKILL) // its reconnect would crash anyway (libmariadb 3.3)

	dep := []string{"-d", sb.DeploymentPath, "--timeout", "2m"}
	r := run(t, "", nil, append(dep, "run", "failover")...)
	if r.code != 0 {
		t.Fatalf("failover: exit %d\nstdout:\n%s\nstderr:\n%s\nsysbench:\n%s", r.code, r.stdout, r.stderr, loadOut.String())
	}
	newPrimary, other := "db2", "db3"
	if strings.Contains(r.stdout, "db1 -> db3") {
		newPrimary, other = "db3", "db2"
	}
	script := filepath.Join(t.TempDir(), "after.lua")
	writePlaybook(t, script, fmt.Sprintf(`
local rep = require "replicant"
require("replicant.test").topology_is(%[1]q, { %[2]q })
-- More transactions than the old primary can have kept to itself, so the
-- new primary's seq_no passes the old one's: the histories must then be
-- told apart by server_id, not by seq_no.
for i = 1, 150 do
  rep.server(%[1]q):exec("INSERT INTO sbtest.sbtest1 (k, c, pad) VALUES (?, 'after failover', 'x')", i)
end
local db1 = rep.server("db1")
db1:start()
assert(db1:variable("read_only") == 1, "db1 came back writable")
`, newPrimary, other))
	if r := run(t, "", nil, append(dep, "run", script)...); r.code != 0 {
		t.Fatalf("after failover: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	r = run(t, "", nil, append(dep, "run", "rejoin", "--", "--server", "db1")...)
	final := filepath.Join(t.TempDir(), "final.lua")
	switch r.code {
	case 0:
		if cutReplicas {
			t.Fatalf("rejoin accepted an old primary holding commits nobody received:\n%s", r.stdout)
		}
		t.Logf("rejoin accepted db1: %s", strings.TrimSpace(r.stdout))
		writePlaybook(t, final, fmt.Sprintf(`
local expect = require "replicant.test"
expect.topology_is(%q, { "db1", %q })
local n = replicant.server(%q):query_row("SELECT COUNT(*) AS n FROM sbtest.sbtest1").n
expect.rows("db1", "sbtest.sbtest1", n)
`, newPrimary, other, newPrimary))
	case 1:
		if !strings.Contains(r.stderr, "rejoin: db1 has transactions") || !strings.Contains(r.stderr, "Rebuild it") {
			t.Fatalf("rejoin refused without naming the transactions:\n%s", r.stderr)
		}
		t.Logf("rejoin refused db1: %s", strings.TrimSpace(r.stderr))
		writePlaybook(t, final, `
local db1 = replicant.server("db1")
assert(db1:replica_status() == nil, "db1 was repointed anyway")
assert(db1:variable("read_only") == 1, "db1 is writable")
`)
	default:
		t.Fatalf("rejoin: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", nil, append(dep, "run", final)...); r.code != 0 {
		t.Fatalf("final state: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func writePlaybook(t testing.TB, path, src string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

// seqOf is the sequence number of a one-domain MariaDB GTID position.
func seqOf(pos string) int64 {
	i := strings.LastIndex(pos, "-")
	n, _ := strconv.ParseInt(pos[i+1:], 10, 64)
	return n
}

// TestSwitchoversUnderSysbench runs switchovers back and forth while
// sysbench oltp_write_only (4 threads) writes to the primary, at 100 tps
// and at full speed, beside a writer that retries a failed insert with the
// same id. Each switchover either completes, or is refused before the
// promotion (the candidate could not get close, or the wait after the
// fence would pass --max-block) with the old primary writable again. No
// acknowledged row may be lost, and none written twice: the fence sets
// read_only before it kills sessions, so a commit in flight is either
// acknowledged or fails cleanly.
func TestSwitchoversUnderSysbench(t *testing.T) {
	for _, c := range []struct{ name, rate string }{{"100 tps", "100"}, {"full speed", "0"}} {
		t.Run(c.name, func(t *testing.T) { switchoversUnderSysbench(t, c.rate, 4) })
	}
}

// The same as a benchmark, with figures: go test -run '^$' -bench
// Sysbench -benchtime 10x ./tests/ prints p50 and max of the write-blocked
// window the retrying writer saw, for the switchovers that completed, and
// how many were refused.
func BenchmarkSwitchoverSysbench100tps(b *testing.B) { benchSwitchoversUnderSysbench(b, "100") }
func BenchmarkSwitchoverSysbenchFull(b *testing.B)   { benchSwitchoversUnderSysbench(b, "0") }

func benchSwitchoversUnderSysbench(b *testing.B, rate string) {
	runs, refused := switchoversUnderSysbench(b, rate, b.N)
	what := "switchover under sysbench at " + rate + " tps"
	if rate == "0" {
		what = "switchover under sysbench at full speed"
	}
	fmt.Printf("%s: %d refused before any change\n", what, refused)
	if len(runs) > 0 {
		summarize(b, what, runs)
	}
}

func switchoversUnderSysbench(t testing.TB, rate string, rounds int) (runs []benchRun, refused int) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	ctx := context.Background()
	db1 := connect(t, sb, sb.Primary())
	if _, err := db1.Exec(ctx, "CREATE DATABASE sbtest"); err != nil {
		t.Fatal(err)
	}
	if out, err := sysbench(t, sb, sb.Primary(), "prepare").CombinedOutput(); err != nil {
		t.Fatalf("sysbench prepare: %v\n%s", err, out)
	}
	w := startRetryingWriter(t, sb)
	w.waitAcked(t, 20)
	primary, other := 0, 1
	for i := 0; i < rounds; i++ {
		in := sb.Instances[primary]
		load := sysbench(t, sb, in, "--threads=4", "--time=60", "--rate="+rate, "--report-interval=0",
			"--mysql-ignore-errors=all", "run")
		if err := load.Start(); err != nil {
			t.Fatal(err)
		}
		sv := connect(t, sb, in)
		before, _ := sv.GTIDExecuted(ctx)
		waitFor(t, "sysbench to commit 100 transactions", func() bool {
			g, err := sv.GTIDExecuted(ctx)
			return err == nil && seqOf(g.String())-seqOf(before.String()) >= 100
		})
		to := sb.Instances[other].Name
		start := time.Now()
		r := run(t, "", nil, "-d", sb.DeploymentPath, "--timeout", "2m", "run", "switchover", "--", "--to", to,
			"--wait-timeout", "5s")
		_ = load.Process.Kill()
		_ = load.Wait()
		switch {
		case r.code == 0:
			w.waitAcked(t, 20)
			runs = append(runs, benchRun{gap: w.gapDuring(start, time.Now()), wall: msOf(doneInRe, r.stdout),
				blocked: msOf(blockedRe, r.stdout)})
			t.Logf("round %d: %s; the writer saw a gap of %s", i+1, firstLine(r.stdout),
				runs[len(runs)-1].gap.Round(100*time.Microsecond))
			primary, other = other, primary
		case strings.Contains(r.stderr, "transactions behind; nothing was changed") ||
			strings.Contains(r.stderr, "(--max-block)") || strings.Contains(r.stderr, "cannot be promoted: lag") ||
			strings.Contains(r.stderr, "undoing rather than killing sessions"):
			refused++
			t.Logf("round %d refused: %s", i+1, lastLine(r.stderr))
			check := filepath.Join(t.TempDir(), "check.lua")
			writePlaybook(t, check, fmt.Sprintf(`local db = replicant.server(%q)
assert(db:replica_status() == nil and db:variable("read_only") == 0, "the old primary was left fenced")`,
				in.Name))
			if c := run(t, "", nil, "-d", sb.DeploymentPath, "run", check); c.code != 0 {
				t.Fatalf("after a refused switchover: %s", c.stderr)
			}
		default:
			t.Fatalf("round %d: switchover to %s: exit %d\nstdout:\n%s\nstderr:\n%s", i+1, to, r.code, r.stdout, r.stderr)
		}
		w.waitAcked(t, 20)
	}
	res := w.finish(t, primary)
	t.Logf("%d switchovers done, %d refused; writer: %d acknowledged, %d errors, %d lost, %d duplicated",
		len(runs), refused, res.acked, res.errors, res.lost, res.dupes)
	if res.lost != 0 || res.dupes != 0 {
		t.Errorf("writer: %d lost (%v), %d duplicated", res.lost, res.missing, res.dupes)
	}
	if len(runs) > 0 {
		runs[len(runs)-1].lost, runs[len(runs)-1].dupes = res.lost, res.dupes
	}
	return runs, refused
}

func firstLine(s string) string { return strings.SplitN(strings.TrimSpace(s), "\n", 2)[0] }

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestCheckSeesApplierFallingBehind: db2's applier is held up (a session
// on db2 holds a read lock on the table the writer fills), so its lag
// grows while the primary takes writes. check looks twice and warns.
func TestCheckSeesApplierFallingBehind(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	w := startWriter(t, sb)
	w.waitAcked(t, 20)
	db2 := connect(t, sb, sb.Instances[1])
	ctx := context.Background()
	if _, err := db2.Exec(ctx, "LOCK TABLES "+writerTable+" READ"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "db2 to lag", func() bool {
		res, err := db2.Query(ctx, "SHOW SLAVE STATUS")
		if err != nil || len(res.Rows) == 0 {
			return false
		}
		lag, _ := strconv.Atoi(fmt.Sprint(res.Row(0)["Seconds_Behind_Master"]))
		return lag >= 2
	})
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "check")
	if !strings.Contains(r.stdout, "db2    falling_behind") || strings.Contains(r.stdout, "db3    falling_behind") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if _, err := db2.Exec(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	w.finish(t, 0)
}
