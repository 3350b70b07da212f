package bindings

import (
	"context"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/backup/backuptest"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// backupState is a state with DB1..DB3 bound to the servers of sb, the
// backup functions, DIR (a temporary directory), REPL_USER and REPL_PW.
func backupState(t *testing.T, sb *sandbox.Sandbox, cfg Config) (*State, *strings.Builder) {
	t.Helper()
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	replPW, err := sb.ReplUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cfg.Stdout, cfg.Stderr = &out, &out
	s := New(context.Background(), cfg)
	t.Cleanup(s.Close)
	bindSandboxServers(t, s, sb, pw)
	L := s.L
	L.SetGlobal("DIR", lua.LString(t.TempDir()))
	L.SetGlobal("REPL_USER", lua.LString(sb.ReplUser.Name))
	L.SetGlobal("REPL_PW", lua.LString(replPW))
	return s, &out
}

// backupSetup is where both backup scripts start: db3 out of replication,
// 300 rows in app.t on db1, applied by db2.
const backupSetup = `
local rep = require "replicant"
DB3:stop_replica()
DB3:reset_replica{ all = true }
DB1:exec("CREATE DATABASE app")
DB1:exec("CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
DB1:exec("INSERT INTO app.t (v) SELECT seq FROM app.seq_1_to_300")
assert(DB2:wait_for(DB1:gtid_executed(), { timeout = "30s" }))
`

const backupScript = backupSetup + `
local function fails(fn, opts, want)
  local ok, err = pcall(fn, opts)
  assert(not ok, "no error, want " .. want)
  assert(tostring(err):find(want, 1, true), tostring(err) .. " lacks " .. want)
  print("refused: " .. tostring(err))
  return err
end
fails(rep.backup, { server = DB2, to = DIR .. "/x", methd = "logical" }, "unknown option methd")
fails(rep.backup, { server = DB2 }, "option to is required")
fails(rep.backup, { server = DB2, to = DIR .. "/x", method = "tar" }, 'want "logical" or "physical"')
fails(rep.backup, { server = "db2", to = DIR .. "/x" }, "option server: want a server object")
fails(rep.restore, { server = DB3 }, "option image is required")

local m = rep.backup{ server = DB2, to = DIR .. "/logical" }
assert(m.method == "logical" and m.server == "db2" and m.flavor == "mariadb" and m.image == DIR .. "/logical")
assert(m.gtid == DB1:gtid_executed(), tostring(m.gtid))
assert(m.position.file:find("^mysql%-bin%.") and m.position.pos > 0, tostring(m.position))
assert(#m.sha256 == 64 and m.payload_size > 0 and m.created:find("Z$"))

local p = rep.backup{ server = DB2, to = DIR .. "/physical", method = "physical" }
assert(p.method == "physical" and p.gtid == m.gtid and p.tool:find("^mariadb%-backup"), p.tool)
DB1:exec("INSERT INTO app.t (v) SELECT seq FROM app.seq_1_to_50")

local untouched = DB3:variable("gtid_binlog_pos")
local err = fails(rep.restore, { image = p.image, server = DB3 }, "physical restore needs machine control")
assert(err.op == "restore" and err.server:find("^db3") and tostring(err):find("start = function"), tostring(err))
fails(rep.restore, { image = p.image, server = DB3, stop = STOP3 }, "give both stop and start")
fails(rep.restore, { image = p.image, server = DB3, stop = function() error("cannot stop here") end, start = START3 },
  "stop function: ")
fails(rep.restore, { image = DIR .. "/nothing", server = DB3 }, "no manifest.json")
assert(DB3:variable("gtid_binlog_pos") == untouched and not pcall(DB3.sql, DB3, "SELECT 1 FROM app.t"), "target touched")

local r = rep.restore{ image = m.image, server = DB3 }
assert(r.gtid == m.gtid and r.old_datadir == "" and r.dry_run == false)
assert(DB3:variable("gtid_slave_pos") == tostring(m.gtid))
assert(DB3:query_row("SELECT COUNT(*) AS n FROM app.t").n == 300)

local r2 = rep.restore{ image = p.image, server = DB3, stop = STOP3, start = START3 }
assert(r2.method == "physical" and r2.old_datadir:find("data%.old%-"), r2.old_datadir)
DB3:change_source(DB1, { user = REPL_USER, password = REPL_PW })
DB3:start_replica()
DB1:exec("INSERT INTO app.t (v) VALUES (1)")
assert(DB3:wait_for(DB1:gtid_executed(), { timeout = "30s" }))
assert(DB3:query_row("SELECT COUNT(*) AS n FROM app.t").n == 351)
print("backup script done")
`

func TestBackupFromLua(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	s, out := backupState(t, sb, Config{Verbose: true})
	ctl := backuptest.New(t, sb, "db3")
	for name, fn := range map[string]func(context.Context) error{"STOP3": ctl.Stop, "START3": ctl.Start} {
		s.L.SetGlobal(name, s.L.NewFunction(func(L *lua.LState) int {
			if err := fn(L.Context()); err != nil {
				L.RaiseError("%v", err)
			}
			return 0
		}))
	}
	if err := s.L.DoString(backupScript); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, out)
	}
	for _, want := range []string{"backup script done", "logical backup: ", "physical restore: ", " done\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The failed stop function is followed by a start (a no-op) that puts
	// the target back; then one stop and one start for the real restore.
	if ctl.Stops != 1 || ctl.Starts != 2 {
		t.Errorf("controller: %d stops, %d starts; want 1, 2", ctl.Stops, ctl.Starts)
	}
}

// TestRestoreDryRun: a dry run verifies and checks, and changes nothing.
func TestRestoreDryRun(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	live, _ := backupState(t, sb, Config{})
	if err := live.L.DoString(`IMG = require("replicant").backup{ server = DB2, to = DIR .. "/img" }.image`); err != nil {
		t.Fatal(err)
	}
	dry, out := backupState(t, sb, Config{DryRun: true})
	dry.L.SetGlobal("IMG", live.L.GetGlobal("IMG"))
	err := dry.L.DoString(`
local before = DB2:variable("gtid_binlog_pos")
local r = require("replicant").restore{ image = IMG, server = DB2 }
assert(r.dry_run == true, "not a dry run")
assert(DB2:variable("gtid_binlog_pos") == before, "changed")
assert(DB2:replica_status() ~= nil, "replication stopped")`)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	dry.PrintPlan(&plan)
	if !strings.Contains(plan.String(), "restore: restore "+live.L.GetGlobal("IMG").String()) {
		t.Errorf("plan: %s\noutput: %s", plan.String(), out)
	}
}
