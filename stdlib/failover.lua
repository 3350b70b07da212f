-- failover: the primary is dead; make the most advanced replica the new
-- primary and repoint every other replica to it, losing nothing that any
-- replica received.
--
--   replicant-lua -d dep.lua run failover [-- --dead db1] [--candidates db2,db3]
--       [--prefer db3] [--wait-timeout 30s]
--   require("replicant.failover").run{ dead = "db1", before_promote = function(ctx) ... end }
--
-- 1. Confirm the primary is dead: it does not answer, and its replicas'
--    receivers are not connected to it either.
-- 2. Lock the cluster on the survivors.
-- 3. On every replica of the dead primary: stop the receiver (IO thread)
--    only, then let the applier finish the relay log. Stopping both first
--    would make the next START or CHANGE MASTER discard received but
--    unapplied events (MariaDB, GTID mode).
-- 4. Rank: the most advanced replica (its executed GTIDs contain the
--    others') wins; among equals the deployment's promotion rule (prefer,
--    neutral, prefer_not; must_not never), then --prefer. When the winner
--    by rule is behind a peer, it first catches up from that peer.
-- 5. Promote it, point of no return, repoint the others, verify.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.options = {
  dead = "string", candidates = "list", prefer = "string", wait_timeout = "duration",
  before_promote = "function", after_promote = "function",
}

local rank_of_rule = { prefer = 1, neutral = 2, prefer_not = 3 }

local function promotion_rule(db)
  local d = rep.deployment()
  local entry = d and d.servers[db:name()]
  return entry and entry.promotion or "neutral"
end

-- find_dead returns the dead primary: the one named, or the source the
-- replicas share. It raises when that server still answers.
local function find_dead(o)
  local dead = o.dead and rep.server(o.dead)
  local replicas = {}
  for _, db in ipairs(rep.servers()) do
    local ok, src = rep.try(ha.source_of, db)
    if ok and src then
      dead = dead or src
      if src == dead then
        table.insert(replicas, db)
      end
    end
  end
  if not dead then
    error("failover: no replica names a source; give --dead", 0)
  end
  local alive = rep.try(dead.variable, dead, "server_id")
  if alive then
    error(string.format("failover: %s answers; it is not dead (use switchover to move the primary)", dead:name()), 0)
  end
  if #replicas == 0 then
    error("failover: no reachable replica of " .. dead:name(), 0)
  end
  return dead, replicas
end

-- drain stops each receiver and waits for its applier to finish the relay
-- log; a replica whose applier fails drops out of the running.
local function drain(replicas, timeout)
  local results = rep.parallel(replicas, function(db)
    db:stop_replica { thread = "io" }
    local st = db:replica_status()
    if not db:wait_for(st.retrieved_gtids, { timeout = timeout }) then
      error("relay log not applied within " .. tostring(timeout) .. "s", 0)
    end
  end)
  local usable = {}
  for i, r in ipairs(results) do
    if r.ok then
      table.insert(usable, replicas[i])
    else
      rep.log.warn("%s cannot be used: %s", replicas[i]:name(), tostring(r.err))
    end
  end
  return usable
end

local function allowed(db, o)
  if promotion_rule(db) == "must_not" then
    return false
  end
  if o.candidates then
    for _, name in ipairs(o.candidates) do
      if rep.server(name) == db then return true end
    end
    return false
  end
  return true
end

-- choose returns the replica to promote and the most advanced one (they
-- differ when rules exclude the most advanced).
local function choose(usable, o)
  local gtids = {}
  for _, db in ipairs(usable) do gtids[db] = db:gtid_executed() end
  local most
  for _, db in ipairs(usable) do
    if not most or (gtids[db]:contains(gtids[most]) and gtids[db] ~= gtids[most]) then
      most = db
    end
  end
  for _, db in ipairs(usable) do
    if not gtids[most]:contains(gtids[db]) then
      error(string.format("failover: %s and %s have diverged (%s vs %s); resolve by hand",
        most:name(), db:name(), tostring(gtids[most]), tostring(gtids[db])), 0)
    end
  end
  local best
  local function better(a, b)
    local ca, cb = gtids[a] == gtids[most], gtids[b] == gtids[most]
    if ca ~= cb then return ca end
    local ra, rb = rank_of_rule[promotion_rule(a)], rank_of_rule[promotion_rule(b)]
    if ra ~= rb then return ra < rb end
    if o.prefer then
      local pa, pb = a == rep.server(o.prefer), b == rep.server(o.prefer)
      if pa ~= pb then return pa end
    end
    return a:name() < b:name()
  end
  for _, db in ipairs(usable) do
    if allowed(db, o) and (not best or better(db, best)) then
      best = db
    end
  end
  if not best then
    error("failover: no replica may be promoted (promotion rules or --candidates exclude all)", 0)
  end
  return best, most, gtids
end

function M.run(opts)
  local o = cli.check(opts, M.options, "failover")
  o.wait_timeout = o.wait_timeout or 30
  local started = rep.now()
  local dead, replicas = find_dead(o)
  rep.lock()
  rep.log.info("failover: %s is dead; %d replica(s) to consider", dead:name(), #replicas)
  local usable = drain(replicas, o.wait_timeout)
  if #usable == 0 then
    error("failover: no replica could apply its relay log; nothing was promoted", 0)
  end
  local new, most, gtids = choose(usable, o)
  local ctx = { dead = dead, primary = new, replicas = usable }
  if new ~= most then
    rep.log.warn("%s is preferred but behind %s: catching it up from there first", new:name(), most:name())
    rep.step("catch " .. new:name() .. " up from " .. most:name(), function()
      ha.repoint(new, most)
      if not new:wait_for(gtids[most], { timeout = o.wait_timeout }) then
        error(new:name() .. " did not catch up from " .. most:name(), 0)
      end
    end)
  end
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
  rep.step("forget replication on " .. new:name(), function()
    new:stop_replica()
    new:reset_replica { all = true }
  end)
  local others = {}
  for _, db in ipairs(usable) do
    if db ~= new then table.insert(others, db) end
  end
  if #others > 0 then
    rep.step("repoint " .. ha.names(others) .. " to " .. new:name(), function()
      ha.repoint_all(others, new)
    end)
  end
  if not rep.dry_run() then
    ha.verify(new, others, o.wait_timeout)
    ha.persist_read_only(new, false)
  end
  ctx.wall = rep.now() - started
  print(string.format("failover: %s -> %s done in %s (promoted after %s); %d replica(s) repointed",
    dead:name(), new:name(), ha.ms(ctx.wall), ha.ms(ctx.writable_at - started), #others))
  return ctx
end

return cli.main(M, "failover", ...)
