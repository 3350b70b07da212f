package tests

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// failoverTarget reads "failover: db1 -> dbN" from the failover's output
// and returns dbN's index in the sandbox.
func failoverTarget(t *testing.T, sb *sandbox.Sandbox, stdout string) int {
	t.Helper()
	m := regexp.MustCompile(`failover: db1 -> (db\d+) done`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no promotion in the failover's output:\n%s", stdout)
	}
	for i, in := range sb.Instances {
		if in.Name == m[1] {
			return i
		}
	}
	t.Fatalf("failover promoted %s, not in the sandbox", m[1])
	return 0
}

// With semi-sync on (AFTER_SYNC), kill -9 of the primary under a writer
// loses no acknowledged write: each had reached a replica's relay log, and
// failover promotes the most advanced replica after draining the relay
// logs.
func TestSemiSyncKillLosesNothing(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3, SemiSync: true})
	ctx := context.Background()
	db1 := connect(t, sb, sb.Primary())
	waitFor(t, "db1 to have 2 semi-sync replicas", func() bool {
		st, err := db1.SemiSync(ctx)
		return err == nil && st.PrimaryActive && st.Clients == 2
	})
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "status")
	if !strings.Contains(r.stdout, "semi-sync primary: on, 2 clients") || strings.Count(r.stdout, "; semi-sync replica\n") != 2 {
		t.Errorf("status does not show semi-sync:\n%s%s", r.stdout, r.stderr)
	}
	w := startWriter(t, sb)
	w.waitAcked(t, 1000)
	killPrimary(t, sb)
	r = run(t, "", nil, "-d", sb.DeploymentPath, "--timeout", "2m", "run", "failover")
	if r.code != 0 {
		t.Fatalf("failover: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "failover: semi-synchronous replication was on (db2, db3)") {
		t.Errorf("the report does not say semi-sync was on:\n%s", r.stdout)
	}
	target := failoverTarget(t, sb, r.stdout)
	// A commit the kill cut before any replica acknowledged it may be in
	// db1's log, unacknowledged: a few at most (one per writer connection).
	m := regexp.MustCompile(`failover: (db1's binary log holds nothing db\d lacks|db\d did not receive from db1: \S+, (\d+) transactions?;)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("the report does not read db1's binary log:\n%s", r.stdout)
	}
	t.Logf("report: %s", m[0])
	if n, _ := strconv.Atoi(m[2]); n > 1 {
		t.Errorf("db1's binary log holds %d transactions the new primary lacks; semi-sync allows one per writer", n)
	}
	w.waitAcked(t, 200) // the writer goes on, on the new primary
	res := w.finish(t, target)
	t.Logf("semi-sync: %d acknowledged, %d lost, %d duplicated, %d errors", res.acked, res.lost, res.dupes, res.errors)
	if res.lost != 0 || res.dupes != 0 {
		t.Errorf("%d acknowledged writes lost (%v), %d duplicated", res.lost, res.missing, res.dupes)
	}
	// The other survivor follows the new primary and has nothing it lacks:
	// the promoted one was the most advanced.
	newp := connect(t, sb, sb.Instances[target])
	for i, in := range sb.Instances[1:] {
		if i+1 == target {
			continue
		}
		other := connect(t, sb, in)
		waitFor(t, in.Name+" to catch up with the new primary", func() bool {
			a, err1 := newp.GTIDExecuted(ctx)
			b, err2 := other.GTIDExecuted(ctx)
			return err1 == nil && err2 == nil && a.Equal(b)
		})
	}
}

// Asynchronous replication: the replicas' receivers stop while the writer
// goes on, then the primary is killed. Acknowledged writes are lost, and
// the failover's report says from which GTID on.
func TestAsyncKillReportsLoss(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	ctx := context.Background()
	w := startWriter(t, sb)
	w.waitAcked(t, 300)
	// A receiver cut off from the primary, as in a partition. Not SIGSTOP:
	// the events a stopped replica has not read wait in its socket buffer
	// and still arrive after SIGCONT, even from a killed primary.
	for _, in := range sb.Instances[1:] {
		if _, err := connect(t, sb, in).Exec(ctx, "STOP SLAVE IO_THREAD"); err != nil {
			t.Fatal(err)
		}
	}
	w.waitAcked(t, 300)
	killPrimary(t, sb)
	r := run(t, "", nil, "-d", sb.DeploymentPath, "--timeout", "2m", "run", "failover")
	if r.code != 0 {
		t.Fatalf("failover: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	target := failoverTarget(t, sb, r.stdout)
	name := sb.Instances[target].Name
	want := regexp.MustCompile(`failover: replication was asynchronous: writes db1 acknowledged after (\S+) \(` + name + `'s position\) may be lost`)
	m := want.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Errorf("the report does not say what may be lost:\n%s", r.stdout)
	}
	w.waitAcked(t, 50)
	res := w.finish(t, target)
	t.Logf("async: %d acknowledged, %d lost, %d duplicated; report: after %v", res.acked, res.lost, res.dupes, m)
	if res.lost < 300 {
		t.Errorf("%d acknowledged writes lost, want at least the 300 written after the receivers stopped", res.lost)
	}
	// The report lists them from db1's binary log: one transaction per
	// insert, so at least the writer's lost count (a commit killed before
	// its client heard of it is in the log too, and was not acknowledged).
	counted := regexp.MustCompile(`failover: ` + name + ` did not receive from db1: \S+, (\d+) transactions?; ` +
		`they are in db1's binary log mysql-bin\.\d+`).FindStringSubmatch(r.stdout)
	if counted == nil {
		t.Fatalf("the report does not list the lost transactions:\n%s", r.stdout)
	}
	t.Logf("report: %s", counted[0])
	if n, _ := strconv.Atoi(counted[1]); n < res.lost || n > res.lost+5 {
		t.Errorf("the report counts %d transactions db1 logged and %s lacks; the writer lost %d", n, name, res.lost)
	}
}

// db:semi_sync and db:set_semi_sync on a running replica: the replica side
// restarts the receiver, the undo puts the settings back, a dry run
// changes nothing.
func TestSemiSyncPrimitives(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	script := filepath.Join(t.TempDir(), "semisync.lua")
	writePlaybook(t, script, `
local rep = require "replicant"
local db1, db2 = rep.server("db1"), rep.server("db2")
local st = db1:semi_sync()
assert(st.available and not st.primary_enabled and not st.replica_enabled, "semi-sync on by default")
local before = db1:set_semi_sync { primary = true, timeout = "10s", wait_point = "after_sync" }
assert(not before.primary_enabled, "before")
local before2, restarted = db2:set_semi_sync { replica = true }
assert(restarted, "the receiver was not restarted")
assert(db2:wait_replicating { timeout = "10s" }, "db2 does not replicate")
local deadline = rep.now() + 10
repeat st = db1:semi_sync() until (st.primary_active and st.clients == 1) or rep.now() > deadline
assert(st.primary_active and st.clients == 1, "db1 has no semi-sync client: " .. rep.to_json(st))
assert(st.timeout == 10 and st.wait_point == "after_sync", rep.to_json(st))
db1:exec("CREATE DATABASE IF NOT EXISTS semi")
assert(db1:semi_sync().acked_tx >= 1, "the commit was not acknowledged")
assert(db2:semi_sync().replica_active, "db2 is not an active semi-sync replica")
-- back as before, as an undo would
db2:set_semi_sync { replica = before2.replica_enabled }
db1:set_semi_sync { primary = before.primary_enabled, timeout = before.timeout }
st = db1:semi_sync()
assert(not st.primary_enabled and not db2:semi_sync().replica_enabled, "not undone")
print("semi-sync primitives ok")
`)
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", script)
	if r.code != 0 || !strings.Contains(r.stdout, "semi-sync primitives ok") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	dry := filepath.Join(t.TempDir(), "dry.lua")
	writePlaybook(t, dry, `
local rep = require "replicant"
rep.server("db1"):set_semi_sync { primary = true }
`)
	r = run(t, "", nil, "-d", sb.DeploymentPath, "--dry-run", "run", dry)
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "SET GLOBAL rpl_semi_sync_master_enabled = ON") {
		t.Errorf("dry run: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	st, err := connect(t, sb, sb.Primary()).SemiSync(context.Background())
	if err != nil || st.PrimaryEnabled {
		t.Errorf("after the dry run: %+v, %v", st, err)
	}
}
