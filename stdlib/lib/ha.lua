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

-- M.discover() → the topology of the whole deployment. Every decision a
-- procedure takes (which server is the primary, whether it is dead, who
-- may be promoted, who is in the way, what is errant) comes from it: the
-- rules live in Go (runtime/topology), tested once, not copied here.
function M.discover(opts)
  return rep.discover(nil, opts)
end

-- M.find_primary(topo, expect) → the primary discovery found: the server
-- that replicates from no one and is writable or has replicas (a detached,
-- read-only spare is not one). expect (optional) names the primary the
-- caller believes in: a different answer is an error, so a procedure never
-- acts on a stale belief.
function M.find_primary(topo, expect)
  local primary = topo:primary()
  if not primary then
    local v = topo:verdict()
    error("no primary: " .. v.reason, 0)
  end
  if expect and primary ~= rep.server(expect) then
    error(string.format("the primary is %s, not %s as expected", primary:name(), rep.server(expect):name()), 0)
  end
  return primary
end

-- M.check_candidate(topo, db, opts) raises unless discovery's ranking
-- accepts db for promotion (reachable, replicating from the primary with
-- both threads running, binary log and log_slave_updates on, no errant
-- transactions, not delayed, not must_not, lag within opts.max_lag),
-- with every reason it gives.
function M.check_candidate(topo, db, opts)
  for _, c in ipairs(topo:candidates(opts)) do
    if c.server == db then
      if c.excluded then
        error(string.format("%s cannot be promoted: %s", db:name(), table.concat(c.reasons, "; ")), 0)
      end
      return c
    end
  end
  error(db:name() .. " cannot be promoted: it is the primary, or not in the topology", 0)
end

-- M.check_bystanders(topo, primary, candidate, skip) → the servers to
-- repoint and the ones skipped ({db=, problems=}). It raises, before
-- anything changes, when a server the procedure would repoint is down,
-- broken, writable or errant and the operator did not name it in skip.
function M.check_bystanders(topo, primary, candidate, skip)
  local move, skipped, refused = {}, {}, {}
  for _, b in ipairs(topo:bystanders(primary, candidate, { skip = skip or {} })) do
    if b.skipped then
      table.insert(skipped, { db = b.server, name = b.name, problems = b.problems })
    elseif #b.problems > 0 then
      table.insert(refused, b.name .. ": " .. table.concat(b.problems, "; "))
    else
      table.insert(move, b.server)
    end
  end
  if #refused > 0 then
    error(string.format("refused before any change: %s; repair %s first, or leave %s as %s with --skip %s",
      table.concat(refused, " | "), #refused == 1 and "it" or "them", #refused == 1 and "it" or "them",
      #refused == 1 and "it is" or "they are", M.skip_hint(topo, primary, candidate, skip)), 0)
  end
  return move, skipped
end

-- M.skip_hint lists the bystanders with problems as a --skip value.
function M.skip_hint(topo, primary, candidate, skip)
  local out = {}
  for _, name in ipairs(skip or {}) do table.insert(out, name) end
  for _, b in ipairs(topo:bystanders(primary, candidate, { skip = skip or {} })) do
    if not b.skipped and #b.problems > 0 then table.insert(out, b.name) end
  end
  return table.concat(out, ",")
end

-- M.left_behind(list, source) is the report line for servers a procedure
-- left as they were, with the command that repairs each.
function M.left_behind(list, source)
  local out = {}
  for _, e in ipairs(list) do
    table.insert(out, string.format("%s (%s; repair, then: replicant-lua -d DEPLOYMENT run relocate -- " ..
      "--replica %s --below %s)", e.name, table.concat(e.problems, "; "), e.name, source:name()))
  end
  return table.concat(out, "; ")
end

-- M.errant(topo, db, against) → nil, or the text of the transactions db
-- has that against lacks, with the reasons, by the flavor's rules.
function M.errant(topo, db, against)
  local e = topo:errant(db, against)
  if not e then return nil end
  return e.gtids .. " (" .. table.concat(e.reasons, "; ") .. ")"
end

-- M.delay(db) → the seconds db applies behind on purpose (MASTER_DELAY),
-- 0 when none or not a replica.
function M.delay(db)
  local st = db:replica_status()
  return st and st.sql_delay or 0
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
      -- A delayed replica applies what it gets an hour late, on purpose:
      -- its threads are checked, its position not waited for.
      if (st.sql_delay or 0) == 0 and not db:wait_for(target, { timeout = timeout }) then
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
  if (st.sql_delay or 0) == 0 and not db:wait_for(target, { timeout = timeout }) then
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
    if type(cfg) == "table" and cfg.kind == "no_machine" then
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

-- M.persist(db, on, notes) is persist_read_only for a procedure's report:
-- where db's option file cannot be reached, notes gets what to set by
-- hand; a file that cannot be written is noted too, with the error (the
-- procedure goes on: the servers themselves are already right).
function M.persist(db, on, notes)
  local want = on and "read-only = 1" or "read-only = 0"
  local ok, done = rep.try(M.persist_read_only, db, on)
  if ok and done then return true end
  local why = ok and "the deployment gives it no machine" or tostring(done)
  table.insert(notes, string.format("%s's option file was not written (%s): set %s in its [mysqld] group, " ..
    "or a restart will %s", db:name(), why, want, on and "make it writable" or "leave it read-only"))
  return false
end

-- M.move_writes(primary, notes) sends the clients' writes to primary
-- through every proxy the deployment names (replicant.haproxy), once it
-- takes them. Past the point of no return, a proxy that cannot be moved
-- does not stop the procedure: notes get what failed and the command
-- that finishes it. Returns the names of the proxies moved.
function M.move_writes(primary, notes)
  local moved = {}
  for _, p in ipairs(require("replicant.haproxy").deployment()) do
    local ok, err = rep.try(p.route_writes, p, primary:name())
    if ok then
      table.insert(moved, p:name())
    else
      table.insert(notes, string.format("%s still sends writes elsewhere: %s; move them by hand: echo " ..
        "\"set server %s/%s state ready\" | socat stdio %s, then put the others in maint", p:name(),
        tostring(err), p.backend, p:srv(primary:name()), p.socket))
    end
  end
  if #moved > 0 then
    table.insert(notes, string.format("writes now go to %s through %s", primary:name(), table.concat(moved, ", ")))
  end
  return moved
end

-- M.transactions(gtid) counts the transactions a GTID value stands for,
-- for progress and rate figures in reports (not for decisions): on MariaDB
-- the seq_no of each domain, on MySQL the length of every interval.
function M.transactions(g)
  local text, n = tostring(g), 0
  if g:flavor() == "mariadb" then
    for seq in text:gmatch("%d+%-%d+%-(%d+)") do n = n + tonumber(seq) end
    return n
  end
  for range in text:gmatch(":([%d%-]+)") do
    local a, b = range:match("^(%d+)%-(%d+)$")
    if a then n = n + tonumber(b) - tonumber(a) + 1 elseif range:match("^%d+$") then n = n + 1 end
  end
  return n
end

-- M.ms(seconds) formats a duration in milliseconds.
function M.ms(seconds)
  return string.format("%.1f ms", seconds * 1000)
end

return M
