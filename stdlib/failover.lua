-- failover: the primary is dead; make the most advanced replica the new
-- primary and repoint every other replica to it, losing nothing that any
-- replica received.
--
--   replicant-lua -d dep.lua run failover [-- --dead db1] [--candidates db2,db3]
--       [--prefer db3] [--wait-timeout 30s] [--confirm-timeout 5s] [--force]
--   require("replicant.failover").run{ dead = "db1", before_promote = function(ctx) ... end }
--
-- 1. Confirm the primary is dead, as discovery decides it: the tool gets
--    no answer from it, and no replica's receiver is connected to it (nor
--    was refused by it). A primary that answers with an error (a wrong
--    password, too many connections) or that a replica still reaches is
--    running: failing over would make two writable primaries, so the
--    failover refuses and says why; --force overrides, and says so.
-- 2. Lock the cluster on the survivors.
-- 3. On every replica of the dead primary but the delayed ones: stop the
--    receiver (IO thread) only, then let the applier finish the relay log.
--    Stopping both first would make the next START or CHANGE MASTER
--    discard received but unapplied events (MariaDB, GTID mode). If the
--    failover stops before promoting, the receivers are started again.
-- 4. Rank with discovery's one ranking: the most advanced replica first,
--    then the promotion rule; delayed, errant, diverged, must_not and
--    non-logging replicas never win. --prefer counts as promotion rule
--    prefer; --candidates restricts the choice (a chosen server behind the
--    most advanced first catches up from it).
-- 5. Promote it, point of no return, persist read-only in the option
--    files (the dead primary's too, through its machine), repoint the
--    others (delayed ones keep their delay), verify.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.needs_deployment = true
M.options = {
  { "dead", "server", "refuse unless discovery finds this server as the dead primary" },
  { "candidates", "servers", "promote one of these only" },
  { "prefer", "server", "count this server as promotion rule prefer" },
  { "wait_timeout", "duration", "how long replicas may take to apply their relay logs", default = "30s" },
  { "confirm_timeout", "duration", "how long to ask again before an unreachable primary counts as running",
    default = "5s" },
  { "force", "boolean", "fail over although the primary is not confirmed dead" },
  { "before_promote", "function", "called with ctx before the new primary takes writes" },
  { "after_promote", "function", "called with ctx once the new primary takes writes" },
}

-- confirm_dead returns the topology and the dead primary. A receiver may
-- take a moment to notice a primary that just died, so an "unreachable"
-- verdict is asked again until confirm_timeout before refusing.
local function confirm_dead(o)
  local deadline = rep.now() + o.confirm_timeout
  local topo, v
  repeat
    topo = ha.discover()
    v = topo:verdict()
    if v.state ~= "unreachable" or #v.connected == 0 then break end
    rep.sleep("20ms") -- a receiver notices a killed source within milliseconds
  until rep.now() > deadline
  if o.dead and v.primary ~= rep.server(o.dead) then
    error(string.format("failover: --dead %s, but discovery finds %s as the primary (%s)", o.dead,
      v.name or "none", v.reason), 0)
  end
  if v.state == "alive" then
    local hint = "use switchover to move the primary"
    for _, p in ipairs(topo:problems()) do
      if p.kind == "primary_read_only" then hint = "it is read-only and no server takes writes: run recover" end
    end
    error(string.format("failover: %s answers; it is not dead (%s)", v.name, hint), 0)
  elseif v.state == "none" then
    error("failover: " .. v.reason, 0)
  elseif v.state == "unreachable" then
    if not o.force then
      error(string.format("failover: refused: %s is not dead: %s. If you know it is stopped and will stay " ..
        "stopped, run again with --force", v.name, v.reason), 0)
    end
    rep.log.warn("failover: FORCED although %s may be running: %s", v.name, v.reason)
  end
  return topo, v.primary, v.state == "unreachable"
end

-- survivors splits the dead primary's replicas: the ones to drain, the
-- delayed ones (never waited for, never promoted) and the unreachable.
local function survivors(topo, dead)
  local drain, delayed, lost = {}, {}, {}
  for _, n in ipairs(topo:nodes()) do
    if n.source == dead and n.server ~= dead then
      if not n.reachable then
        table.insert(lost, { name = n.name, problems = { "unreachable: " .. tostring(n.error) } })
      elseif n.delay then
        table.insert(delayed, n.server)
      else
        table.insert(drain, n.server)
      end
    end
  end
  return drain, delayed, lost
end

-- drain stops each receiver and waits for its applier to finish the relay
-- log. The receivers come back if the failover stops before promoting.
local function drain(replicas, timeout, lost)
  rep.step("stop the receivers of " .. ha.names(replicas), function()
    local results = rep.parallel(replicas, function(db) db:stop_replica { thread = "io" } end)
    for i, r in ipairs(results) do
      if not r.ok then error(replicas[i]:name() .. ": " .. tostring(r.err), 0) end
    end
  end, function()
    for _, db in ipairs(replicas) do db:start_replica { thread = "io" } end
  end)
  local results = rep.parallel(replicas, function(db)
    local st = db:replica_status()
    if not db:wait_for(st.retrieved_gtids, { timeout = timeout }) then
      error(string.format("relay log not applied within %ss: received %s, applied %s", tostring(timeout),
        tostring(st.retrieved_gtids), tostring(db:gtid_executed())), 0)
    end
  end)
  local usable = {}
  for i, r in ipairs(results) do
    if r.ok then
      table.insert(usable, replicas[i])
    else
      rep.log.warn("%s cannot be used: %s", replicas[i]:name(), tostring(r.err))
      table.insert(lost, { name = replicas[i]:name(), problems = { tostring(r.err) } })
    end
  end
  return usable
end

-- choose returns the replica to promote and the most advanced one (they
-- differ only when --candidates excludes the most advanced), from the
-- ranking of a discovery made after the drain. Excluded replicas that
-- could otherwise have been repointed are left behind, with the reason.
local function choose(o, usable, lost)
  local topo = ha.discover()
  local promotion = {}
  if o.prefer then promotion[rep.server(o.prefer):name()] = "prefer" end
  local allowed
  if o.candidates then
    allowed = {}
    for _, name in ipairs(o.candidates) do allowed[rep.server(name):name()] = true end
  end
  local ok, best, most, excluded = {}, nil, nil, {}
  -- Keyed by name: each call hands out a new userdata for a server.
  for _, db in ipairs(usable) do ok[db:name()] = true end
  for _, c in ipairs(topo:candidates { promotion = promotion }) do
    if ok[c.name] then
      if c.excluded then
        table.insert(excluded, c)
        table.insert(lost, { name = c.name, problems = c.reasons })
        ok[c.name] = nil
      else
        most = most or c.server
        if not best and (not allowed or allowed[c.name]) then best = c.server end
      end
    end
  end
  for _, c in ipairs(excluded) do
    rep.log.warn("%s is not a candidate: %s", c.name, table.concat(c.reasons, "; "))
  end
  if not best then
    local why = {}
    for _, c in ipairs(excluded) do table.insert(why, c.name .. ": " .. table.concat(c.reasons, "; ")) end
    error("failover: no replica may be promoted" .. (#why > 0 and " (" .. table.concat(why, " | ") .. ")" or
      " (--candidates excludes every usable one)") .. "; nothing was promoted", 0)
  end
  local others = {}
  for _, db in ipairs(usable) do
    if ok[db:name()] and db ~= best then table.insert(others, db) end
  end
  return best, most, others, topo:failover_loss(most)
end

local function promote(ctx, o)
  local new, dead = ctx.primary, ctx.dead
  if o.before_promote then o.before_promote(ctx) end
  -- Its receiver is stopped and its relay log applied: nothing more can
  -- arrive, so it takes writes first and forgets replication after.
  rep.step("promote " .. new:name(), function()
    new:set_read_only(false)
  end)
  ctx.writable_at = rep.now()
  rep.point_of_no_return(string.format(
    "%s is the new primary. Repoint each remaining replica: replicant-lua -d DEPLOYMENT run relocate " ..
    "-- --replica NAME --below %s; then run check. %s must not come back as a primary: rejoin it " ..
    "with run rejoin -- --server %s.", new:name(), new:name(), dead:name(), dead:name()))
  if o.after_promote then o.after_promote(ctx) end
  ha.move_writes(new, ctx.notes)
  rep.step("forget replication on " .. new:name(), function()
    new:stop_replica()
    new:reset_replica { all = true }
  end)
  -- The dead primary's option file is written through its machine, so it
  -- comes back read-only whenever it is started.
  ha.persist(new, false, ctx.notes)
  ha.persist(dead, true, ctx.notes)
end

function M.run(opts)
  local o = cli.check(opts, M)
  local started = rep.now()
  local topo, dead, forced = confirm_dead(o)
  rep.lock()
  local replicas, delayed, lost = survivors(topo, dead)
  rep.log.info("failover: %s is dead; %d replica(s) to consider, %d delayed", dead:name(), #replicas, #delayed)
  if #replicas == 0 then
    error("failover: no reachable replica of " .. dead:name() .. " that is not delayed; nothing was promoted", 0)
  end
  local usable = drain(replicas, o.wait_timeout, lost)
  if #usable == 0 then
    error("failover: no replica could apply its relay log; nothing was promoted", 0)
  end
  local new, most, others, loss = choose(o, usable, lost)
  local drained = most:gtid_executed() -- before the new primary writes GTIDs of its own
  -- What the dead primary acknowledged and nobody received: Go decides
  -- (topology.FailoverLoss), the report says it.
  local ctx = { dead = dead, primary = new, replicas = usable, forced = forced, notes = { loss.text }, loss = loss }
  if new ~= most then
    rep.log.warn("%s is chosen but behind %s: catching it up from there first", new:name(), most:name())
    rep.step("catch " .. new:name() .. " up from " .. most:name(), function()
      ha.repoint(new, most)
      if not new:wait_for(most:gtid_executed(), { timeout = o.wait_timeout }) then
        error(new:name() .. " did not catch up from " .. most:name(), 0)
      end
    end)
  end
  if rep.dry_run() then
    print(string.format("failover: would promote %s in place of %s (dry run: nothing was changed)",
      new:name(), dead:name()))
    return ctx
  end
  promote(ctx, o)
  local repoint = {}
  for _, db in ipairs(others) do table.insert(repoint, db) end
  for _, db in ipairs(delayed) do table.insert(repoint, db) end
  if #repoint > 0 then
    rep.step("repoint " .. ha.names(repoint) .. " to " .. new:name(), function()
      ha.repoint_all(repoint, new)
    end)
  end
  ha.verify(new, repoint, o.wait_timeout)
  -- What the dead primary logged beyond the drained position, read from
  -- its binary log files through its machine, where it has one.
  local u, why = dead:unreplicated(drained)
  if u and u.count == 0 then
    table.insert(ctx.notes, string.format("%s's binary log holds nothing %s lacks", dead:name(), most:name()))
  elseif u then
    table.insert(ctx.notes, string.format("%s did not receive from %s: %s", most:name(), dead:name(), u.text))
  else
    table.insert(ctx.notes, "the lost transactions are not listed: " .. why)
  end
  ctx.unreplicated = u
  ctx.wall = rep.now() - started
  print(string.format("failover: %s -> %s done in %s (promoted after %s); %d replica(s) repointed%s",
    dead:name(), new:name(), ha.ms(ctx.wall), ha.ms(ctx.writable_at - started), #repoint,
    forced and "; FORCED: " .. dead:name() .. " was not confirmed dead" or ""))
  for _, note in ipairs(ctx.notes) do print("failover: " .. note) end
  -- A read-only server that replicates from no one was not the dead
  -- primary's replica, and is left as it is: a spare, or the old primary
  -- of a switchover whose new primary (the dead one) had not been
  -- followed by it yet. Say which command takes it in.
  for _, n in ipairs(topo:nodes()) do
    if n.reachable and not n.outside and not n.source and not n.replica_status and n.read_only and
        n.name ~= new:name() and n.name ~= dead:name() then
      print(string.format("failover: %s is read-only and replicates from no one, so it was left as it is; if it " ..
        "is not a spare but the primary an interrupted switchover fenced, put it under %s: replicant-lua " ..
        "-d DEPLOYMENT run relocate -- --replica %s --below %s", n.name, new:name(), n.name, new:name()))
    end
  end
  if #lost > 0 then
    error("failover: left behind: " .. ha.left_behind(lost, new), 0)
  end
  return ctx
end

return cli.main(M, "failover", ...)
