package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/harness"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer = harness.Output

// startTail runs examples/tail.lua against db1 and waits until it follows.
func startTail(t *testing.T, sb *sandbox.Sandbox, args ...string) (*exec.Cmd, <-chan error, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"-d", sb.DeploymentPath, "run", "../examples/tail.lua", "--", "db1"}, args...)...)
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done, exited := make(chan error, 1), make(chan struct{})
	go func() { done <- cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	waitFor(t, "tail.lua to start following", func() bool { return strings.Contains(out.String(), "following db1") })
	return cmd, done, &out, &errOut
}

// replicaHosts lists the report_host of every replica registered with sv.
func replicaHosts(t *testing.T, sv *server.Server) []string {
	res, err := sv.Query(context.Background(), "SHOW SLAVE HOSTS")
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for i := range res.Rows {
		h, _ := res.Row(i)["Host"].(string)
		hosts = append(hosts, h)
	}
	return hosts
}

func hasHost(hosts []string, h string) bool {
	for _, x := range hosts {
		if x == h {
			return true
		}
	}
	return false
}

func waitExit(t *testing.T, done <-chan error, limit time.Duration) int {
	t.Helper()
	select {
	case err := <-done:
		return exitCode(err)
	case <-time.After(limit):
		t.Fatalf("still running after %v", limit)
	}
	return -1
}

// The README-style command: tail.lua follows db1 live while a writer
// inserts, prints one line per event and stops at its count.
func TestTailExample(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	sv := connect(t, sb, sb.Primary())
	ctx := context.Background()
	for _, q := range []string{"CREATE DATABASE d1", "CREATE TABLE d1.t (id INT PRIMARY KEY)"} {
		if _, err := sv.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	_, done, out, errOut := startTail(t, sb, "10")
	// Registered as a replica under its report_host while it follows.
	waitFor(t, "the reader in SHOW SLAVE HOSTS", func() bool { return hasHost(replicaHosts(t, sv), "replicant-lua") })
	for i := 1; i <= 2; i++ { // two transactions of five events each
		if _, err := sv.Exec(ctx, "INSERT INTO d1.t VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
	}
	if code := waitExit(t, done, 30*time.Second); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 11 {
		t.Fatalf("want a header and 10 event lines:\n%s", out)
	}
	for _, want := range []string{" gtid ", "annotate_rows", "INSERT INTO d1.t VALUES (1)", "table_map", "d1.t: 1 row", "xid", "commit, xid"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	assertNoSecrets(t, sb, out.String(), errOut.String())
	waitFor(t, "the reader to leave SHOW SLAVE HOSTS", func() bool { return !hasHost(replicaHosts(t, sv), "replicant-lua") })
}

// Ctrl-C ends a follow that is waiting for events: the run's context is
// cancelled, the stream closes, and the server forgets the reader.
func TestTailInterrupted(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	sv := connect(t, sb, sb.Primary())
	cmd, done, out, errOut := startTail(t, sb)
	waitFor(t, "the reader in SHOW SLAVE HOSTS", func() bool { return hasHost(replicaHosts(t, sv), "replicant-lua") })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	// A bound on the wait, not a timing assertion.
	if code := waitExit(t, done, 15*time.Second); code != 1 {
		t.Errorf("exit %d after SIGINT\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut.String(), "binlog_events") {
		t.Errorf("stderr does not say what was interrupted:\n%s", errOut)
	}
	waitFor(t, "the reader to leave SHOW SLAVE HOSTS", func() bool { return !hasHost(replicaHosts(t, sv), "replicant-lua") })
}

// The Lua API end to end: binary logs, events between two GTIDs with the
// SHOW reader, locate_gtid, errant transactions on a replica, and the
// error for a start the server does not have.
func TestBinlogPlaybook(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	play := filepath.Join(t.TempDir(), "binlog.lua")
	src := `local rep = require "replicant"
local db1, db2 = rep.server("db1"), rep.server("db2")
-- The sandbox creates its users through the binary log: count from there.
local base = tonumber(tostring(db1:gtid_executed()):match("(%d+)$") or "0")
local function g(n) return "0-1-" .. (base + n) end
db1:exec("CREATE DATABASE d1")
db1:exec("CREATE TABLE d1.t (id INT PRIMARY KEY)")
db1:exec("INSERT INTO d1.t VALUES (1), (2), (3)")
print("logs", #db1:binary_logs(), db1:binary_logs()[1].name)
local types = {}
for ev in db1:binlog_events { from = g(2), to = g(3) } do types[#types + 1] = ev.type end
print("events", table.concat(types, " "))
local loc = rep.locate_gtid(db1, g(3))
print("located", loc.gtid == g(3), tostring(loc.position) == loc.file .. ":" .. loc.pos, loc.table, loc.query)
assert(db2:wait_for(db1:gtid_executed(), { timeout = "30s" }))
db2:exec("CREATE DATABASE oops")
local list, truncated = db2:errant_transactions(db1)
print("errant", #list, truncated, list[1].gtid == "0-2-" .. (base + 4), list[1].found, list[1].query)
local ok, err = pcall(db1.binlog_events, db1, { from = "mysql-bin.000077:4" })
print(tostring(err))
`
	if err := os.WriteFile(play, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", play)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	db1 := fmt.Sprintf("db1 (127.0.0.1:%d)", sb.Primary().Port)
	for _, want := range []string{
		"logs\t1\tmysql-bin.000001\n",
		"events\tgtid query gtid annotate_rows table_map write_rows xid\n",
		"located\ttrue\ttrue\td1.t\tINSERT INTO d1.t VALUES (1), (2), (3)\n",
		"errant\t1\tfalse\ttrue\ttrue\tCREATE DATABASE oops\n",
		play + ":19: " + db1 + ": binlog_events: start position mysql-bin.000077:4: no binary log mysql-bin.000077",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertNoSecrets(t, sb, r.stdout, r.stderr)
}
