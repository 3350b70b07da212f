package bindings

import (
	"context"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// pcall(db.exec, db, ...) inside a rep.parallel item used to return true
// and a userdata without running the statement. Now the statement runs,
// and a failing one comes back as false and its error object; rep.step
// in an item is undone when the run fails.
func TestParallelPcallExecRuns(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	s := New(context.Background(), Config{Stdout: &out, Stderr: &out})
	t.Cleanup(s.Close)
	bindSandboxServers(t, s, sb, pw)
	err = s.RunString(`
local rep = require "replicant"
DB1:exec("CREATE DATABASE p")
DB1:exec("CREATE TABLE p.t (id INT PRIMARY KEY)")
local res = rep.parallel({1, 2, 3}, function(i)
  local ok, r = pcall(DB1.exec, DB1, "INSERT INTO p.t VALUES (?)", i)
  assert(ok, tostring(r))
  local ok2, e = pcall(DB1.exec, DB1, "INSERT INTO p.t VALUES (?)", i)
  assert(not ok2 and e.kind == "server" and e.code == 1062, "duplicate insert: " .. tostring(e))
  rep.step("mark " .. i, function() DB1:exec("INSERT INTO p.t VALUES (?)", 10 + i) end,
    function() DB1:exec("DELETE FROM p.t WHERE id = ?", 10 + i) end)
  return i
end)
for _, r in ipairs(res) do assert(r.ok, tostring(r.err)) end
print(DB1:query_row("SELECT COUNT(*) AS n FROM p.t").n)
error("fail after the parallel steps", 0)
`, "test.lua")
	if err == nil || !strings.Contains(err.Error(), "fail after") {
		t.Fatalf("error %v\n%s", err, out.String())
	}
	if got := strings.TrimSpace(out.String()); got != "6" {
		t.Fatalf("rows before the undo: %q", got)
	}
	out.Reset()
	if err := s.RunString(`print(DB1:query_row("SELECT COUNT(*) AS n FROM p.t").n)`, "check.lua"); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "3" {
		t.Fatalf("rows after the undo: %q (want the three steps undone)", got)
	}
}
