package bindings

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// binlogState is a state with the binlog API and DB, a server object for
// the primary of a fresh sandbox.
func binlogState(t *testing.T, servers int) (*State, *strings.Builder, *sandbox.Sandbox) {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.Options{Servers: servers})
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	s := New(context.Background(), Config{Stdout: &out, Stderr: &out})
	t.Cleanup(s.Close)
	bindSandboxServers(t, s, sb, pw)
	return s, &out, sb
}

const binlogScript = `
local rep = require "replicant"
local db = DB1
-- The sandbox creates its users through the binary log first: count from
-- where it left off.
local base = tonumber(tostring(db:gtid_executed()):match("(%d+)$") or "0")
local function g(n) return "0-1-" .. (base + n) end
db:exec("CREATE DATABASE d1")
db:exec("CREATE TABLE d1.t (id INT PRIMARY KEY, v VARCHAR(10))")
db:exec("INSERT INTO d1.t VALUES (1,'a'),(2,'b'),(3,'c')")
db:exec("FLUSH BINARY LOGS")

local logs = db:binary_logs()
assert(#logs == 2 and logs[1].name == "mysql-bin.000001" and logs[1].size > 256, "binary_logs")

local function collect(opts)
  local out = {}
  for ev in db:binlog_events(opts) do out[#out + 1] = ev end
  return out
end

for _, reader in ipairs { "show", "stream" } do
  local evs = collect { reader = reader }
  assert(#evs > 10, reader .. ": few events")
  for i = 2, #evs do
    local prev, ev = evs[i - 1], evs[i]
    local want = prev.type == "rotate" and 4 or prev.end_pos
    assert(ev.pos == want, reader .. ": event " .. i .. " at " .. ev.pos .. ", want " .. want)
  end
  local rows
  for _, ev in ipairs(evs) do
    if ev.type == "write_rows" then
      assert(ev.gtid == g(3) and ev.table == "d1.t", reader .. ": write_rows fields")
      rows = ev.rows
    end
    if ev.type == "query" and ev.gtid == g(1) then assert(ev.query == "CREATE DATABASE d1") end
    if ev.query then assert(not ev.query:find("IDENTIFIED BY '[^<]"), "password shown: " .. ev.query) end
    if ev.type == "xid" then assert(type(ev.xid) == "number" and ev.xid > 0) end
  end
  if reader == "stream" then assert(rows == 3, "stream rows " .. tostring(rows)) else assert(rows == nil, "show rows") end
  assert((evs[1].timestamp ~= nil) == (reader == "stream"), reader .. ": timestamp")
end

local evs = collect { from = g(2), to = rep.gtid(g(3)), reader = "stream" }
assert(#evs == 7 and evs[1].type == "gtid" and evs[1].gtid == g(2) and evs[7].type == "xid", "from/to gtid: " .. #evs)
evs = collect { from = rep.position(evs[3].file, evs[3].pos), limit = 2 }
assert(#evs == 2 and evs[1].gtid == g(3), "from position, limit")

local it, events = db:binlog_events { reader = "stream", follow = true }
assert(tostring(events):find("binlog events of db1", 1, true))
assert(it().type == "format_description" and events:next().type == "gtid_list")
events:close()
events:close()
assert(it() == nil, "a closed reader is at its end")

local loc = rep.locate_gtid(db, g(3))
assert(loc.query == "INSERT INTO d1.t VALUES (1,'a'),(2,'b'),(3,'c')" and loc.table == "d1.t", "locate")
assert(tostring(loc.position) == loc.file .. ":" .. loc.pos and loc.gtid == g(3) and loc.end_pos > loc.pos)
assert(rep.locate_gtid(db, rep.gtid(g(99))) == nil, "locate missing")

local ok, e = pcall(db.binlog_events, db, { form = 1 })
assert(not ok and tostring(e):find("unknown option form", 1, true), tostring(e))
ok, e = pcall(db.binlog_events, db, { from = "mysql-bin.000099:4" })
assert(not ok and e.op == "binlog_events" and e.server:find("db1", 1, true), tostring(e))
assert(tostring(e):find("start position mysql-bin.000099:4: no binary log", 1, true), tostring(e))
ok, e = pcall(db.binlog_events, db, { after = g(1) })
assert(not ok and tostring(e):find("needs the stream reader", 1, true), tostring(e))
ok, e = pcall(db.binlog_events, db, { from = "nonsense" })
assert(not ok and tostring(e):find("neither a mariadb GTID nor a binlog position", 1, true), tostring(e))
print("binlog ok")
`

func TestLuaBinlog(t *testing.T) {
	s, out, _ := binlogState(t, 1)
	if err := s.RunString(binlogScript, "binlog.lua"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.HasSuffix(out.String(), "binlog ok\n") {
		t.Errorf("output: %s", out)
	}
	waitNoGoMySQL(t)
}

func TestLuaErrantTransactions(t *testing.T) {
	s, out, _ := binlogState(t, 2)
	err := s.RunString(`
local rep = require "replicant"
local base = tonumber(tostring(DB1:gtid_executed()):match("(%d+)$") or "0")
DB1:exec("CREATE DATABASE d1")
assert(DB2:wait_for(DB1:gtid_executed(), { timeout = "30s" }))
local list, truncated = DB2:errant_transactions(DB1)
assert(#list == 0 and truncated == false, "no errant yet")
DB2:exec("CREATE DATABASE oops")
list, truncated = DB2:errant_transactions(DB1)
assert(#list == 1 and not truncated, "one errant")
local e = list[1]
assert(e.found and e.gtid == "0-2-" .. (base + 2) and e.query == "CREATE DATABASE oops" and e.file and e.pos, "errant fields")
list = DB2:errant_transactions(DB1:gtid_executed(), { limit = 1 })
assert(#list == 1)
print("errant ok")
`, "errant.lua")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// An iterator abandoned before its end (a break) is closed when the state closes, and
// its stream connection's goroutines end.
func TestLuaBinlogClosedWithState(t *testing.T) {
	s, out, _ := binlogState(t, 1)
	err := s.RunString(`
local it = DB1:binlog_events { reader = "stream", follow = true }
assert(it().type == "format_description")
`, "leak.lua")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	n := s.reg.openReaders()
	if n != 1 {
		t.Errorf("%d open readers after the break, want 1", n)
	}
	s.reg.closeReaders()
	n = s.reg.openReaders()
	if n != 0 {
		t.Errorf("%d open readers after closeReaders", n)
	}
	waitNoGoMySQL(t)

	// Without the hook, the end of the run's context closes it too.
	if err := s.RunString(`local it = DB1:binlog_events { reader = "stream", follow = true }; it()`, "leak2.lua"); err != nil {
		t.Fatal(err)
	}
	s.cancel()
	waitNoGoMySQL(t)
}

func waitNoGoMySQL(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "go-mysql-org/go-mysql") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("go-mysql goroutines still running:\n%s", stacks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
