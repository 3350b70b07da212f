package tests

import (
	"strings"
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
