package tests

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// A playbook runs two switchovers; the second fails before its point of
// no return (its hook raises at the fence's FLUSH TABLES). Each
// switchover has its own journal: the first's result stays (db2 is the
// primary, writable), the second's steps are undone (db2 is not left
// fenced), and the report shows the nesting and no recovery text of the
// first, which is done. With one journal for the run, the first's point
// of no return dropped every later undo and its recovery text was shown.
func TestProcedureTwoSwitchoversOwnJournals(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `
local sw = require "replicant.switchover"
sw.run { to = "db2" }
sw.run { to = "db1", on_step = function(name)
  if name:sub(1, #"fence db2: FLUSH TABLES") == "fence db2: FLUSH TABLES" then
    error("refused by the hook at " .. name, 0)
  end
end }`)
	if r.code != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	check := `local rep = require "replicant"
local db1, db2, db3 = rep.server("db1"), rep.server("db2"), rep.server("db3")
print(db2:variable("read_only"), db1:variable("read_only"))
for _, db in ipairs({db1, db3}) do
  local st = db:replica_status()
  print(db:name(), rep.server(st.source_host .. ":" .. st.source_port):name(), st.io_running, st.sql_running)
end`
	c := run(t, "", nil, "-d", sb.DeploymentPath, "-e", check)
	if c.code != 0 {
		t.Fatalf("check: %d %s %s", c.code, c.stdout, c.stderr)
	}
	want := "0\t1\ndb1\tdb2\ttrue\ttrue\ndb3\tdb2\ttrue\ttrue\n"
	if c.stdout != want {
		t.Errorf("after the run:\n%s\nwant:\n%s\nrun stderr:\n%s", c.stdout, want, r.stderr)
	}
	for _, s := range []string{"1. procedure switchover: done", "2. procedure switchover: FAILED: refused by the hook at fence db2: FLUSH TABLES",
		"fence db2: read_only: done, then undone"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("report lacks %q:\n%s", s, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "To finish the job") || strings.Contains(r.stderr, "point of no return: nothing") {
		t.Errorf("report gives a recovery text, but no procedure failed past its point of no return:\n%s", r.stderr)
	}
}

// SIGTERM in the middle of a procedure: the step is undone under a fresh
// deadline, and a second signal while the undo runs does not cut it
// short: it is answered on stderr and the server is put back.
func TestProcedureSignalDuringUndo(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	dir := t.TempDir()
	fenced, undoing, release := filepath.Join(dir, "fenced"), filepath.Join(dir, "undoing"), filepath.Join(dir, "release")
	cmd, _, stderr := startRunEnv(t, []string{"FENCED=" + fenced, "UNDOING=" + undoing, "RELEASE=" + release},
		"-d", sb.DeploymentPath, "-e", `
local rep = require "replicant"
local db1 = rep.server("db1")
rep.step("fence db1", function() db1:set_read_only(true) end, function()
  io.open(os.getenv("UNDOING"), "w"):close()
  while not io.open(os.getenv("RELEASE")) do rep.sleep("20ms") end
  db1:set_read_only(false)
end)
io.open(os.getenv("FENCED"), "w"):close()
rep.sleep("60s")`)
	exists := func(p string) func() bool { return func() bool { _, err := os.Stat(p); return err == nil } }
	waitFor(t, "the fence", exists(fenced))
	cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "the undo to start", exists(undoing))
	cmd.Process.Signal(syscall.SIGINT)
	waitFor(t, "the second signal's answer", func() bool { return strings.Contains(stderr.String(), "already stopping") })
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(cmd.Wait()); code != 1 {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "fence db1: done, then undone") || !strings.Contains(stderr.String(), "interrupted by terminated") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if v := variable(t, connect(t, sb, sb.Primary()), "read_only"); v != int64(0) {
		t.Errorf("db1 read_only = %v after the undo", v)
	}
}
