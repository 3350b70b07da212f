-- switchover: hand the primary role to a replica while both are healthy,
-- with writes blocked for as short a time as the servers allow.
--
--   replicant-lua -d dep.lua run switchover -- --to db2 [--expect-primary db1]
--       [--max-lag 10] [--wait-timeout 30s] [--long-query 60]
--   require("replicant.switchover").run{ to = "db2", before_promote = function(ctx) ... end }
--
-- 1. Lock the cluster (one procedure at a time) and find the primary.
-- 2. Preflight, changing nothing: every server answers; the candidate
--    replicates from the primary with both threads running, lags at most
--    max_lag, logs its replicated changes, has no errant transactions; no
--    statement has run on the primary for long_query seconds or more.
-- 3. Presync: let the candidate catch up while writes still flow.
-- 4. Fence the primary: kill client sessions, read_only (and super_read_only
--    on MySQL), kill again (admin sessions bypass read_only), then FLUSH
--    TABLES WITH READ LOCK, which stops every writer: its GTID position is
--    now final.
-- 5. Wait for the candidate to apply exactly that position, make it
--    writable (point of no return), then stop and forget its replication.
-- 6. Repoint the other replicas, then the old primary (as a replica of
--    the candidate, its own transactions counted as applied).
-- 7. Verify: one writable primary, every other server replicating from it.
-- Any failure before 5 undoes what was done, in reverse order.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.options = {
  to = "string", expect_primary = "string", max_lag = "number", wait_timeout = "duration",
  long_query = "number", lock_wait = "number", before_promote = "function", after_promote = "function",
  on_step = "function",
}

-- step is rep.step with the on_step hook called first: a progress
-- callback for operators, and where tests inject faults before a step.
local hook
local function step(name, fn, undo)
  if hook then hook(name) end
  return rep.step(name, fn, undo)
end

local function preflight(o)
  local servers = ha.servers()
  local primary = ha.find_primary(servers, o.expect_primary)
  local candidate = rep.server(o.to)
  if candidate == primary then
    return { noop = true, primary = primary }
  end
  ha.check_replica(candidate, primary, o.max_lag)
  local others = {}
  for _, db in ipairs(servers) do
    if db ~= primary and db ~= candidate then
      local src = ha.source_of(db)
      if src ~= primary and src ~= candidate then
        error(string.format("%s replicates from %s, outside this switchover", db:name(),
          src and src:name() or "no one"), 0)
      end
      table.insert(others, db)
    end
  end
  for _, c in ipairs(primary:connections()) do
    if c.command == "Query" and c.time >= o.long_query then
      error(string.format("%s: session %d (%s) has run a statement for %ds; a fence would wait for it: %s",
        primary:name(), c.id, c.user, c.time, c.info), 0)
    end
  end
  return { primary = primary, candidate = candidate, others = others }
end

-- guard re-checks, before each destructive step, that the topology is
-- still the one preflight saw: the primary replicates from no one and the
-- candidate still replicates from it. Something else acting on the
-- cluster (a person, another tool) stops the procedure here, undoing
-- what it did so far.
-- A primary that stopped answering is not a changed topology: once it is
-- fenced and the candidate has its final position, promoting is what
-- saves the cluster, so only an answer that contradicts preflight stops.
local function guard(ctx, what)
  local answered, status = rep.try(ctx.primary.replica_status, ctx.primary)
  if answered and status ~= nil then
    error(string.format("before %s: %s became a replica meanwhile; stopping", what, ctx.primary:name()), 0)
  end
  if not answered then
    rep.log.warn("before %s: %s does not answer (%s); going on", what, ctx.primary:name(), tostring(status))
  end
  if ha.source_of(ctx.candidate) ~= ctx.primary then
    error(string.format("before %s: %s no longer replicates from %s; stopping", what, ctx.candidate:name(),
      ctx.primary:name()), 0)
  end
end

local function fence(ctx, o)
  local primary = ctx.primary
  guard(ctx, "the fence")
  -- Short lock waits: a fence that cannot get its locks gives up and undoes
  -- rather than queue every writer behind it.
  primary:exec("SET SESSION lock_wait_timeout = ?", o.lock_wait)
  ctx.fence_start = rep.now()
  step("fence " .. primary:name() .. ": read_only", function()
    primary:kill_connections()
    primary:set_read_only(true, { super = primary:flavor() == "mysql" })
  end, function()
    primary:set_read_only(false)
  end)
  step("fence " .. primary:name() .. ": kill sessions that bypass read_only", function()
    primary:kill_connections()
  end)
  step("fence " .. primary:name() .. ": FLUSH TABLES WITH READ LOCK", function()
    primary:lock_tables { lock_wait = o.lock_wait }
  end, function()
    primary:unlock_tables()
  end)
  ctx.frozen = primary:gtid_executed()
  if primary:gtid_executed() ~= ctx.frozen then
    error(primary:name() .. ": GTID position still moving under the read lock", 0)
  end
end

local function promote(ctx, o)
  local primary, candidate = ctx.primary, ctx.candidate
  local frozen = ctx.frozen:is_empty() and "an empty GTID set" or tostring(ctx.frozen)
  step("wait for " .. candidate:name() .. " to apply " .. frozen, function()
    if not candidate:wait_for(ctx.frozen, { timeout = o.wait_timeout }) then
      error(string.format("%s did not apply %s within %ss", candidate:name(), tostring(ctx.frozen),
        tostring(o.wait_timeout)), 0)
    end
  end)
  if o.before_promote then
    o.before_promote(ctx)
  end
  -- The candidate has applied the frozen primary's last transaction, and
  -- nothing can follow it: the primary is read-only, its sessions are
  -- killed and FLUSH TABLES WITH READ LOCK holds every writer. So the
  -- candidate may take writes now, before its replication is even stopped
  -- (that and RESET REPLICA cost fsyncs, outside the window). From the
  -- first write it takes there is no way back.
  guard(ctx, "the promotion")
  step("make " .. candidate:name() .. " writable", function()
    candidate:set_read_only(false)
  end)
  ctx.writable_at = rep.now()
  rep.point_of_no_return(string.format(
    "%s is the new primary and takes writes. Make sure it no longer replicates (stop_replica, " ..
    "reset_replica{all=true}); repoint each remaining server to it, e.g. " ..
    "replicant-lua -d DEPLOYMENT run relocate -- --replica %s --below %s; then run check.",
    candidate:name(), primary:name(), candidate:name()))
  if o.after_promote then
    o.after_promote(ctx)
  end
  step("stop replication on " .. candidate:name(), function()
    candidate:stop_replica()
    candidate:reset_replica { all = true }
  end)
end

-- repoint moves the other replicas first and the old primary last: it is
-- the one most likely to fail (it may have died), and the others must not
-- wait on it.
local function repoint(ctx)
  local primary, candidate = ctx.primary, ctx.candidate
  if #ctx.others > 0 then
    step("repoint " .. ha.names(ctx.others) .. " to " .. candidate:name(), function()
      ha.repoint_all(ctx.others, candidate)
    end)
  end
  step("make " .. primary:name() .. " a replica of " .. candidate:name(), function()
    primary:unlock_tables()
    primary:change_source(candidate, { demote = true })
    primary:start_replica()
  end)
end

function M.run(opts, from_cli)
  local o = cli.check(opts, M.options, "switchover")
  hook = o.on_step
  assert(o.to, "switchover: option to is required (the replica to promote)")
  o.max_lag = o.max_lag or 10
  o.wait_timeout = o.wait_timeout or 30
  o.long_query = o.long_query or 60
  o.lock_wait = o.lock_wait or 2
  local started = rep.now()
  rep.lock()
  local ctx = preflight(o)
  if ctx.noop then
    print(string.format("switchover: %s is already the primary; nothing to do", ctx.primary:name()))
    return ctx
  end
  rep.log.info("switchover %s -> %s: preflight passed", ctx.primary:name(), ctx.candidate:name())
  if not ctx.candidate:wait_for(ctx.primary:gtid_executed(), { timeout = o.wait_timeout }) then
    error(ctx.candidate:name() .. " did not catch up before the fence (presync); nothing was changed", 0)
  end
  fence(ctx, o)
  promote(ctx, o)
  repoint(ctx)
  local replicas = { ctx.primary }
  for _, db in ipairs(ctx.others) do table.insert(replicas, db) end
  if not rep.dry_run() then
    ha.verify(ctx.candidate, replicas, o.wait_timeout)
    -- Where the deployment gives machines, the option files say the same,
    -- so a restart later does not undo the switchover's read_only.
    ha.persist_read_only(ctx.candidate, false)
    ha.persist_read_only(ctx.primary, true)
  end
  ctx.blocked = ctx.writable_at - ctx.fence_start
  ctx.wall = rep.now() - started
  print(string.format("switchover: %s -> %s done in %s; writes blocked for %s", ctx.primary:name(),
    ctx.candidate:name(), ha.ms(ctx.wall), ha.ms(ctx.blocked)))
  return ctx
end

return cli.main(M, "switchover", ...)
