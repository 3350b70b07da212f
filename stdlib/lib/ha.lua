-- replicant.ha: the pieces the bundled procedures share — finding the
-- primary, checking a replica's health, repointing, verifying the result.
-- Each function raises with a message an operator can act on.
local rep = require "replicant"

local M = {}

-- M.source_of(db) → the server db replicates from, or nil. The object is
-- the deployment's when the address belongs to it.
function M.source_of(db)
  local st = db:replica_status()
  if not st then
    return nil, nil
  end
  return rep.server(st.source_host .. ":" .. st.source_port), st
end

-- M.servers() → every server of the deployment.
function M.servers()
  return rep.servers()
end

-- M.find_primary(servers) → the one server that replicates from no one.
-- expect (optional) names the primary the caller believes in: a different
-- answer is an error, so a procedure never acts on a stale belief.
function M.find_primary(servers, expect)
  local found = {}
  for _, db in ipairs(servers) do
    if db:replica_status() == nil then
      table.insert(found, db)
    end
  end
  if #found ~= 1 then
    local names = {}
    for _, db in ipairs(found) do table.insert(names, db:name()) end
    error(string.format("expected one primary (a server replicating from no one), found %d: %s",
      #found, table.concat(names, ", ")), 0)
  end
  local primary = found[1]
  if expect and primary ~= rep.server(expect) then
    error(string.format("the primary is %s, not %s as expected", primary:name(), rep.server(expect):name()), 0)
  end
  return primary
end

-- M.errant(db, primary) → the GTIDs db has applied that primary lacks
-- (empty when none), per domain on MariaDB.
function M.errant(db, primary)
  return db:gtid_executed():subtract(primary:gtid_executed())
end

-- M.check_replica(db, source, max_lag) raises unless db replicates from
-- source with both threads running, within max_lag seconds, with binary
-- logging of replicated changes on (so it can serve replicas after a
-- promotion) and no errant transactions.
function M.check_replica(db, source, max_lag)
  local src, st = M.source_of(db)
  if not st then
    error(db:name() .. " is not a replica", 0)
  end
  if src ~= source then
    error(string.format("%s replicates from %s, not from %s", db:name(), src:name(), source:name()), 0)
  end
  if not (st.io_running and st.sql_running) then
    error(string.format("%s: replication is not running (io %s, sql %s)%s", db:name(), st.io_thread,
      st.sql_thread, st.last_sql_error ~= "" and ": " .. st.last_sql_error or
        (st.last_io_error ~= "" and ": " .. st.last_io_error or "")), 0)
  end
  if max_lag and (st.seconds_behind == nil or st.seconds_behind > max_lag) then
    error(string.format("%s is %s seconds behind %s (at most %s allowed)", db:name(),
      tostring(st.seconds_behind or "an unknown number of"), source:name(), tostring(max_lag)), 0)
  end
  if db:variable("log_bin") ~= 1 or db:variable("log_slave_updates") ~= 1 then
    error(db:name() .. " needs log_bin and log_slave_updates on to become a primary of the others", 0)
  end
  local errant = M.errant(db, source)
  if not errant:is_empty() then
    error(string.format("%s has errant transactions %s that %s lacks; resolve them first", db:name(),
      tostring(errant), source:name()), 0)
  end
end

-- M.repoint(db, source, opts) moves a replica under source by GTID.
function M.repoint(db, source, opts)
  db:stop_replica()
  db:change_source(source, opts)
  db:start_replica()
end

-- M.repoint_all(replicas, source, opts) repoints every replica at once
-- (rep.parallel) and raises naming each one that failed.
function M.repoint_all(replicas, source, opts)
  local results, all = rep.parallel(replicas, function(db)
    M.repoint(db, source, opts)
  end)
  if not all then
    local failed = {}
    for i, r in ipairs(results) do
      if not r.ok then
        table.insert(failed, replicas[i]:name() .. ": " .. tostring(r.err))
      end
    end
    error("repointing failed: " .. table.concat(failed, "; "), 0)
  end
end

-- M.names(list) is "db2, db3".
function M.names(list)
  local out = {}
  for _, db in ipairs(list) do table.insert(out, db:name()) end
  return table.concat(out, ", ")
end

-- M.verify(primary, replicas, timeout) waits until primary is writable and
-- replicates from no one, and every replica replicates from it with both
-- threads running and has applied what the primary had when verification
-- began. Returns nothing; raises with every problem found.
function M.verify(primary, replicas, timeout)
  local problems = {}
  if primary:replica_status() ~= nil then
    table.insert(problems, primary:name() .. " still replicates")
  end
  if primary:variable("read_only") ~= 0 then
    table.insert(problems, primary:name() .. " is read-only")
  end
  local target = primary:gtid_executed()
  local results = rep.parallel(replicas, function(db)
      local src, st = M.source_of(db)
      if src ~= primary then
        error(string.format("replicates from %s", src and src:name() or "no one"), 0)
      end
      if not db:wait_for(target, { timeout = timeout }) then
        error("has not applied " .. tostring(target) .. " within " .. tostring(timeout) .. "s", 0)
      end
      -- A receiver just started shows "Preparing" or "Connecting" for a
      -- moment before "Yes"; give it until the timeout.
      local deadline = rep.now() + timeout
      st = db:replica_status()
      while not (st.io_running and st.sql_running) do
        if rep.now() > deadline or st.last_sql_errno ~= 0 then
          error(string.format("io %s, sql %s %s %s", st.io_thread, st.sql_thread, st.last_io_error,
            st.last_sql_error), 0)
        end
        rep.sleep("10ms")
        st = db:replica_status()
      end
      if db:variable("read_only") ~= 1 then
        error("is writable", 0)
      end
  end)
  for i, r in ipairs(results) do
    if not r.ok then
      table.insert(problems, replicas[i]:name() .. ": " .. tostring(r.err))
    end
  end
  if #problems > 0 then
    error("verification failed: " .. table.concat(problems, "; "), 0)
  end
end

-- M.verify_replica(db, source, timeout) waits until db replicates from
-- source with both threads running and has applied what source has.
function M.verify_replica(db, source, timeout)
  local src, st = M.source_of(db)
  if src ~= source then
    error(string.format("%s replicates from %s, not %s", db:name(), src and src:name() or "no one", source:name()), 0)
  end
  local target = source:gtid_executed()
  if not db:wait_for(target, { timeout = timeout }) then
    error(string.format("%s has not applied %s within %ss", db:name(), tostring(target), tostring(timeout)), 0)
  end
end

-- M.persist_read_only(db, on) writes read-only into db's option file, so a
-- restart keeps what SET GLOBAL read_only set (a restarted old primary
-- would otherwise come back writable). False when the deployment gives db
-- no machine to reach the file; errors other than that raise.
function M.persist_read_only(db, on)
  local ok, cfg = rep.try(db.config, db)
  if not ok then
    if tostring(cfg):match("no machine") or tostring(cfg):match("no option file") then
      return false
    end
    error(cfg, 0)
  end
  local want = on and "1" or "0"
  if cfg:get("read-only") ~= want then
    cfg:set("read-only", want)
    cfg:save()
  end
  return true
end

-- M.ms(seconds) formats a duration in milliseconds.
function M.ms(seconds)
  return string.format("%.1f ms", seconds * 1000)
end

return M
