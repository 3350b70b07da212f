-- expect: checks for the scenarios' final.lua playbooks (found through
-- package.path "./?.lua": the tests run in this folder).
local rep = require "replicant"

local M = {}

local function fail(fmt, ...)
  error(string.format(fmt, ...), 3)
end

-- M.topology(primary, replicas): primary is writable and replicates from no
-- one; each replica replicates from it with both threads running, is
-- read-only, and has applied everything the primary has.
function M.topology(primary_name, replica_names)
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

-- M.rows(name, tbl, n): table tbl on server name has n rows.
function M.rows(name, tbl, n)
  local got = rep.server(name):query_row("SELECT COUNT(*) AS n FROM " .. tbl).n
  if got ~= n then fail("%s: %s has %s rows, want %s", name, tbl, tostring(got), tostring(n)) end
end

return M
