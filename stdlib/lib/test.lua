-- replicant.test: playbook tests (`replicant-lua test`). Assertions work
-- in any run; each failure is an error that prints both sides: what was
-- wanted and what the servers say.
--
--   local t = require "replicant.test"
--   t.topology_is("db2", { "db1", "db3" })  -- primary and its healthy replicas
--   t.primary_is("db2"); t.replicates_from("db3", "db2"); t.read_only("db1")
--   t.no_errant(); t.rows("db3", "s.t", 12); t.rows_equal("s.t"); t.eq(got, want, "what")
--
-- A test file (FILE_test.lua, run by `replicant-lua test FILE`) also
-- starts its servers and breaks them; what a fault did is undone when
-- the file ends, and its servers are stopped:
--
--   t.topology{ servers = 4, replicas_of = { db4 = "db2" }, semi_sync = false,
--               delay = { db3 = 3600 }, gtid_strict_mode = false,
--               haproxy = true, proxies = true, options = { ["binlog-format"] = "ROW" } }
--   local w = t.writer{ table = "app.t", rate = 100, retry_same_id = true, via = "haproxy" }
--   t.kill(db); t.pause(db, "500ms"); t.resume(db); t.restart(db)
--   t.cut(db, { from = "tool" | "replicas" }); t.heal(db)   -- needs proxies = true
--   t.lag(db, seconds); t.errant(db); t.break_sql(db); t.max_connections(db, n)
--   t.wrong_password(db); t.pid(db)
--   local r = t.run{ "run", "my_failover.lua", on_step = { ["promote"] = function(step) t.kill("db3") end } }
--   local report = w:stop()  -- { acked, failed, lost = {ids}, duplicated = {ids}, max_gap, server }
--   local watch = t.watch{ "--interval", "250ms" }; watch:wait_for("failover of db1 done", "30s"); watch:stop()
--   t.routes_to("db2")  -- a new client through HAProxy reaches db2
local rep = require "replicant"

local M = {}

local function fail(fmt, ...)
  error(string.format(fmt, ...), 4) -- the test's line: gopher-lua counts error's own frame
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

-- M.eq(got, want, what): got == want, or an error naming what and both.
function M.eq(got, want, what)
  if got ~= want then fail("%s: got %s, want %s", what or "value", show(got), show(want)) end
end

-- M.primary_is(name): discovery's primary is name, and it takes writes.
function M.primary_is(name)
  local p = rep.discover():primary()
  local got = p and p:name() or "none"
  if got ~= name then fail("primary: got %s, want %s", got, name) end
  if rep.server(name):variable("read_only") ~= 0 then fail("primary %s is read-only", name) end
end

-- M.replicates_from(replica, source): replica's source is source, with
-- both threads running.
function M.replicates_from(replica, source)
  local st = rep.server(replica):replica_status()
  if not st then fail("%s replicates from nobody, want %s", replica, source) end
  local got = rep.server(st.source_host .. ":" .. st.source_port)
  if got ~= rep.server(source) then
    fail("%s replicates from %s:%d, want %s", replica, st.source_host, st.source_port, source)
  end
  if not (st.io_running and st.sql_running) then
    fail("%s: replication from %s is not running: io %s sql %s %s %s", replica, source, st.io_thread,
      st.sql_thread, st.last_io_error, st.last_sql_error)
  end
end

-- M.read_only(name): the server refuses ordinary writes.
function M.read_only(name)
  local v = rep.server(name):variable("read_only")
  if v ~= 1 then fail("%s: read_only is %s, want 1", name, tostring(v)) end
end

-- M.no_errant(): no server has transactions its primary lacks, by
-- discovery's own analysis.
function M.no_errant()
  local topo = rep.discover()
  local primary = topo:primary()
  if not primary then fail("no primary to compare with") end
  for _, n in ipairs(topo:nodes()) do
    if n.reachable and n.server ~= primary then
      local e = topo:errant(n.server, primary)
      if e then fail("%s has errant %s (%s)", n.name, e.gtids, table.concat(e.reasons, "; ")) end
    end
  end
end

-- M.rows(name, tbl, n): table tbl on server name has n rows.
function M.rows(name, tbl, n)
  local got = rep.server(name):query_row("SELECT COUNT(*) AS n FROM " .. tbl).n
  if got ~= n then fail("%s: %s has %s rows, want %s", name, tbl, tostring(got), tostring(n)) end
end

-- M.rows_equal(tbl): every reachable server has the same rows in tbl
-- (CHECKSUM TABLE), once the replicas applied what the primary has.
function M.rows_equal(tbl)
  local topo = rep.discover()
  local primary = topo:primary()
  if not primary then fail("no primary to compare %s with", tbl) end
  local target = primary:gtid_executed()
  local want = primary:query_row("CHECKSUM TABLE " .. tbl).Checksum
  for _, n in ipairs(topo:nodes()) do
    if n.reachable and n.server ~= primary then
      if not n.server:wait_for(target, { timeout = "20s" }) then fail("%s did not apply %s", n.name, tostring(target)) end
      local got = n.server:query_row("CHECKSUM TABLE " .. tbl).Checksum
      if got ~= want then
        fail("%s: %s checksum %s, the primary %s has %s", n.name, tbl, tostring(got), primary:name(), tostring(want))
      end
    end
  end
end

-- M.topology_is(primary, replicas): primary is writable and replicates
-- from no one; each replica replicates from it with both threads running,
-- is read-only, has applied everything the primary has and no errant
-- transaction; discovery finds no error on any of them.
function M.topology_is(primary_name, replica_names)
  local primary = rep.server(primary_name)
  if primary:replica_status() ~= nil then fail("%s still replicates", primary_name) end
  if primary:variable("read_only") ~= 0 then fail("%s is read-only", primary_name) end
  local target = primary:gtid_executed()
  for _, name in ipairs(replica_names) do
    local db = rep.server(name)
    local st = db:replica_status()
    if not st then fail("%s is not a replica", name) end
    if rep.server(st.source_host .. ":" .. st.source_port) ~= primary then
      fail("%s replicates from %s:%d, not %s", name, st.source_host, st.source_port, primary_name)
    end
    if not db:wait_for(target, { timeout = "20s" }) then fail("%s did not apply %s", name, tostring(target)) end
    for _ = 1, 1000 do -- up to 10 s: a receiver shows Connecting for a moment
      st = db:replica_status()
      if st.io_running and st.sql_running then break end
      rep.sleep("10ms")
    end
    if not (st.io_running and st.sql_running) then
      fail("%s: io %s sql %s %s %s", name, st.io_thread, st.sql_thread, st.last_io_error, st.last_sql_error)
    end
    if db:variable("read_only") ~= 1 then fail("%s is writable", name) end
  end
  -- Errant transactions by discovery's own analysis (MariaDB's binlog
  -- state too, which a GTID subtract cannot see under strict mode off).
  local topo = rep.discover()
  for _, name in ipairs(replica_names) do
    local e = topo:errant(rep.server(name), primary)
    if e then fail("%s has errant %s (%s)", name, e.gtids, table.concat(e.reasons, "; ")) end
  end
  local named = { [primary_name] = true }
  for _, name in ipairs(replica_names) do named[name] = true end
  for _, p in ipairs(topo:problems()) do
    if p.severity == "error" and named[p.name] and p.kind ~= "option_file_read_only" then
      fail("after the procedure: %s %s: %s", p.name, p.kind, p.message)
    end
  end
end

-- The kit is there in a test file's run only.
local has_kit, kit = pcall(require, "replicant.testkit")
local kit_functions = { "kill", "pause", "resume", "restart", "cut", "heal", "lag", "errant", "break_sql",
  "max_connections", "wrong_password", "pid", "writer", "run", "watch", "routed_to" }
for _, name in ipairs(kit_functions) do
  M[name] = has_kit and kit[name] or function()
    error("t." .. name .. ": only in a test file that replicant-lua test runs", 3)
  end
end

-- M.topology(spec): the test's sandbox (see above). replicas_of points
-- replicas at another source; delay makes replicas apply that late.
function M.topology(spec)
  if not has_kit then error("t.topology: only in a test file that replicant-lua test runs", 3) end
  spec = spec or {}
  local up = {}
  for k, v in pairs(spec) do
    if k ~= "replicas_of" and k ~= "delay" then up[k] = v end
  end
  local ok, err = pcall(kit.up, up)
  if not ok then error(err, 3) end -- at the test file's line
  for replica, source in pairs(spec.replicas_of or {}) do
    local db = rep.server(replica)
    db:stop_replica()
    db:change_source(rep.server(source))
    db:start_replica()
  end
  for replica, source in pairs(spec.replicas_of or {}) do
    for i = 1, 1000 do -- up to 10 s for the receiver to connect
      local st = rep.server(replica):replica_status()
      if st and st.io_running and st.sql_running then break end
      if i == 1000 then M.replicates_from(replica, source) end
      rep.sleep("10ms")
    end
  end
  for name, seconds in pairs(spec.delay or {}) do kit.lag(name, seconds) end
end

-- M.routes_to(name): a new client through the topology's HAProxy reaches
-- server name.
function M.routes_to(name)
  local got, why = M.routed_to()
  if got ~= name then fail("HAProxy routes to %s, want %s", got or ("nothing (" .. tostring(why) .. ")"), name) end
end

return M
