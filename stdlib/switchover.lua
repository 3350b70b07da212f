-- switchover: hand the primary role to a replica while both are healthy,
-- with writes blocked for as short a time as the servers allow.
--
--   replicant-lua -d dep.lua run switchover -- --to db2 [--expect-primary db1]
--       [--max-lag 10s] [--wait-timeout 30s] [--long-query 60s] [--skip db3,db4]
--       [--max-block 1s] [--presync-close 50ms] [--lock-wait 1s] [--read-only-attempt 100ms]
--       [--kill-first]
--   require("replicant.switchover").run{ to = "db2", before_promote = function(ctx) ... end }
--
-- 1. Lock the cluster (one procedure at a time) and find the primary.
-- 2. Preflight, changing nothing, from discovery's verdicts: the primary
--    answers; the candidate is one the ranking accepts (replicating from
--    the primary with both threads running, lag at most max_lag, binary
--    log and log_slave_updates on, no errant transactions, not delayed,
--    not must_not); every other replica of the primary answers, replicates
--    with both threads running, is read-only and has no errant
--    transactions, unless named in --skip (then left as it is and listed
--    in the report); no statement has run on the primary for long_query
--    seconds or more.
-- 3. Presync: let the candidate catch up while writes still flow, again
--    until one catch-up takes at most presync_close; refuse, changing
--    nothing, when it cannot get that close within wait_timeout.
-- 4. Fence the primary: read_only (and super_read_only on MySQL) first, so
--    commits in flight complete and new ones fail cleanly; then kill the
--    sessions (admin sessions bypass read_only), then FLUSH TABLES WITH
--    READ LOCK, which stops every writer: its GTID position is now final.
-- 5. Wait, at most max_block, for the candidate to apply exactly that
--    position, make it writable (point of no return), then stop and
--    forget its replication.
-- 6. Repoint the other replicas, then the old primary (as a replica of
--    the candidate, its own transactions counted as applied).
-- 7. Persist read-only in both option files (where machines are known),
--    then verify: one writable primary, every other server replicating
--    from it.
-- Any failure before 5 undoes what was done, in reverse order.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.needs_deployment = true
M.options = {
  { "to", "server", "the replica to promote", required = true },
  { "expect_primary", "server", "refuse unless this server is the primary" },
  { "max_lag", "duration", "refuse a candidate that lags more", default = "10s" },
  { "wait_timeout", "duration", "how long the candidate may take to catch up before the fence", default = "30s" },
  { "long_query", "duration", "refuse while a statement has run this long on the primary", default = "60s" },
  { "lock_wait", "duration", "how long to keep trying to fence the primary behind long statements", default = "1s" },
  { "read_only_attempt", "duration", "the bound of one attempt at read_only (MariaDB)", default = "100ms" },
  { "kill_first", "boolean", "kill client sessions before read_only when statements block it" },
  { "max_block", "duration", "how long writes may stay blocked while the candidate applies", default = "1s" },
  { "presync_close", "duration", "a catch-up this short lets the fence start", default = "50ms" },
  { "skip", "servers", "replicas to leave as they are (listed in the report)" },
  { "on_step", "function", "called with each step's name before it runs" },
  { "before_promote", "function", "called with ctx before the candidate takes writes" },
  { "after_promote", "function", "called with ctx once the candidate takes writes" },
}

-- step is rep.step with the on_step hook called first: a progress
-- callback for operators, and where tests inject faults before a step.
local hook
local after_failure
local function step(name, fn, undo, opts)
  if hook then hook(name) end
  return rep.step(name, fn, undo, opts)
end

local function preflight(o)
  local topo = ha.discover()
  local primary = ha.find_primary(topo, o.expect_primary)
  local v = topo:verdict()
  if v.state ~= "alive" then
    error(string.format("%s does not answer: %s", primary:name(), v.reason), 0)
  end
  local candidate = rep.server(o.to)
  if candidate == primary then
    return { noop = true, primary = primary }
  end
  local ok, others, skipped = rep.try(function()
    ha.check_candidate(topo, candidate, { max_lag = o.max_lag })
    return ha.check_bystanders(topo, primary, candidate, o.skip)
  end)
  if not ok then error("switchover: " .. tostring(others), 0) end
  for _, c in ipairs(primary:connections()) do
    if c.command == "Query" and c.time >= o.long_query then
      error(string.format("%s: session %d (%s) has run a statement for %ds; a fence would wait for it: %s",
        primary:name(), c.id, c.user, c.time, c.info), 0)
    end
  end
  return { primary = primary, candidate = candidate, others = others, skipped = skipped, notes = {} }
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

-- sessions_in_query lists the primary's sessions running a statement:
-- what a fence that ran out of lock_wait_timeout waited for.
local function sessions_in_query(primary)
  local out = {}
  local ok, conns = rep.try(primary.connections, primary)
  if not ok then return "(the session list could not be read: " .. tostring(conns) .. ")" end
  for _, c in ipairs(conns) do
    if c.command == "Query" then
      table.insert(out, string.format("session %d (%s, %ds): %s", c.id, c.user, c.time, tostring(c.info)))
    end
  end
  return #out > 0 and table.concat(out, "; ") or "no session is running a statement now"
end

local function lock_wait_error(err)
  return type(err) == "table" and err.code == 1205
end

-- read_only first: a commit in flight then finishes and is acknowledged to
-- its client, and the next one fails cleanly with error 1290. Killing
-- sessions first would cut commits in the middle: committed, yet their
-- clients are told "invalid connection" and may write them again on the
-- new primary. When read_only cannot be had within lock_wait (a long
-- statement holds it up), the switchover is undone, naming the sessions it
-- waited for; with kill_first, client sessions are killed first instead,
-- and the report says their commits in flight may be ambiguous.
local function statement_timeout(err)
  return type(err) == "table" and err.code == 1969
end

local function set_read_only_first(ctx, o)
  local primary = ctx.primary
  local super = primary:flavor() == "mysql"
  -- While SET GLOBAL read_only waits for the global read lock, new writes
  -- queue behind it. So each attempt is bounded on the server by
  -- read_only_attempt (MariaDB's max_statement_time; MySQL has no such
  -- bound for SET, and waits up to lock_wait), and writes flow between
  -- attempts, until lock_wait has passed.
  local deadline = rep.now() + o.lock_wait
  local attempts, err = 0, nil
  repeat
    attempts = attempts + 1
    ctx.fence_start = rep.now()
    local ok
    ok, err = rep.try(primary.with_session, primary, { lock_wait_timeout = math.max(1, math.ceil(o.lock_wait)) },
      function() primary:set_read_only(true, { super = super, max_time = o.read_only_attempt }) end)
    if ok then
      ctx.read_only_attempts = attempts
      return
    end
    if not (lock_wait_error(err) or statement_timeout(err)) then error(err, 0) end
    -- Let the writers queued behind the failed attempt through.
    if rep.now() + o.read_only_attempt < deadline then rep.sleep("20ms") end
  until rep.now() >= deadline
  if not o.kill_first then
    error(string.format("fence %s: read_only could not be had in %d attempt(s) within %ss (--lock-wait) " ..
      "for: %s; undoing rather than killing sessions in the middle of their commits; retry when the " ..
      "writes calm down, or pass --kill-first", primary:name(), attempts, tostring(o.lock_wait),
      sessions_in_query(primary)), 0)
  end
  rep.log.warn("fence %s: read_only could not be had in %d attempt(s) within %ss (--lock-wait) for: %s; " ..
    "killing client sessions first, so their commits in flight may be ambiguous to them", primary:name(),
    attempts, tostring(o.lock_wait), sessions_in_query(primary))
  primary:kill_connections()
  ctx.fence_start = rep.now()
  primary:with_session({ lock_wait_timeout = math.max(1, math.ceil(o.lock_wait)) }, function()
    primary:set_read_only(true, { super = super })
  end)
  ctx.killed_first = true
end

-- read_lock takes FLUSH TABLES WITH READ LOCK, once more after killing the
-- sessions it waited for; a second failure names them and the option
-- that gives the fence longer.
local function read_lock(ctx, o)
  local primary = ctx.primary
  -- The read lock has a session of its own: give it the fence's lock wait.
  local opts = { lock_wait = o.lock_wait }
  local ok, err = rep.try(primary.lock_tables, primary, opts)
  if ok then return end
  if not lock_wait_error(err) then error(err, 0) end
  local waited = sessions_in_query(primary)
  primary:kill_connections()
  ok, err = rep.try(primary.lock_tables, primary, opts)
  if ok then return end
  error(string.format("fence %s: FLUSH TABLES WITH READ LOCK waited %ss twice, the second time after killing " ..
    "the sessions it waited for (%s): %s; give it longer with --lock-wait, or wait for the primary's " ..
    "writes to calm down", primary:name(), tostring(o.lock_wait), waited, tostring(err)), 0)
end

-- unfence is the undo of the fence's read_only. Once the promotion was
-- sent, the old primary may take writes again only when the candidate is
-- read-only for good: the promotion step's check found it took no effect,
-- or its undo made the candidate read-only again, both after settling
-- (no statement of ours can still land there). Otherwise (the candidate
-- does not answer) SET GLOBAL read_only = OFF may still take effect from
-- the server's socket buffer, and unfencing could leave two writable
-- servers: the old primary stays fenced, the candidate is made read-only
-- where it answers, and the error says how to finish by hand. Writes are
-- refused meanwhile (error 1290): an outage the operator ends, never a
-- split brain.
local function unfence(ctx)
  local primary, candidate = ctx.primary, ctx.candidate
  if ctx.promoting and not ctx.promotion_undone then
    local fenced = rep.try(candidate.set_read_only, candidate, true)
    -- The promotion returned (a later check failed, before the point of no
    -- return): no statement of ours is in flight, so a candidate made
    -- read-only again stays so, and the old primary may take writes.
    if fenced and ctx.writable_at then
      primary:set_read_only(false)
      return
    end
    error(string.format("%s stays read-only: the promotion of %s was interrupted and %s may have become " ..
      "writable%s. %s has applied everything %s had (%s). Either finish the switchover (SET GLOBAL " ..
      "read_only = 0 on %s, then run relocate for %s and the other replicas), or check that %s is " ..
      "read-only and SET GLOBAL read_only = 0 on %s", primary:name(), candidate:name(), candidate:name(),
      fenced and " (it was made read-only again, but a statement in flight may still land)" or
      " (it could not be made read-only again)", candidate:name(), primary:name(), tostring(ctx.frozen),
      candidate:name(), primary:name(), candidate:name(), primary:name()), 0)
  end
  primary:set_read_only(false)
end

local function fence(ctx, o)
  local primary = ctx.primary
  guard(ctx, "the fence")
  step("fence " .. primary:name() .. ": read_only", function()
    set_read_only_first(ctx, o)
  end, function()
    unfence(ctx)
  end)
  step("fence " .. primary:name() .. ": kill sessions that bypass read_only", function()
    primary:kill_connections()
  end)
  step("fence " .. primary:name() .. ": FLUSH TABLES WITH READ LOCK", function()
    read_lock(ctx, o)
  end, function()
    primary:unlock_tables()
  end)
  ctx.frozen = primary:gtid_executed()
  if primary:gtid_executed() ~= ctx.frozen then
    error(primary:name() .. ": GTID position still moving under the read lock", 0)
  end
end

-- presync lets the candidate catch up while writes still flow, again and
-- again, until one catch-up took at most presync_close: the wait after the
-- fence, with writes blocked, is then about as short. A candidate that
-- never gets that close within wait_timeout is refused before anything
-- changes: its applier does not keep up with the primary's writes.
local function presync(ctx, o)
  local primary, candidate = ctx.primary, ctx.candidate
  local first = rep.now()
  local p0, c0 = ha.transactions(primary:gtid_executed()), ha.transactions(candidate:gtid_executed())
  local deadline = first + o.wait_timeout
  local rounds, took = 0, nil
  repeat
    rounds = rounds + 1
    local started = rep.now()
    local target = primary:gtid_executed()
    local left = deadline - started
    if left <= 0 or not candidate:wait_for(target, { timeout = left }) then
      local elapsed = rep.now() - first
      local applied = ha.transactions(candidate:gtid_executed()) - c0
      local written = ha.transactions(primary:gtid_executed()) - p0
      error(string.format("switchover: %s did not get within %s of %s in %ss (%d catch-ups%s): it applied " ..
        "%.0f transactions/s while %s committed %.0f/s, and is %d transactions behind; nothing was changed",
        candidate:name(), ha.ms(o.presync_close), primary:name(), tostring(o.wait_timeout), rounds,
        took and ", the last took " .. ha.ms(took) or "", applied / elapsed, primary:name(), written / elapsed,
        ha.transactions(primary:gtid_executed()) - ha.transactions(candidate:gtid_executed())), 0)
    end
    took = rep.now() - started
  until took <= o.presync_close
  ctx.presync_rounds, ctx.expected_block = rounds, took
end

local function promote(ctx, o)
  local primary, candidate = ctx.primary, ctx.candidate
  local frozen = ctx.frozen:is_empty() and "an empty GTID set" or tostring(ctx.frozen)
  -- Writes are blocked from here until the promotion: bounded by
  -- max_block, past which the fence is undone rather than kept.
  local bound = math.min(o.max_block, o.wait_timeout)
  step("wait for " .. candidate:name() .. " to apply " .. frozen, function()
    if not candidate:wait_for(ctx.frozen, { timeout = bound }) then
      error(string.format("%s did not apply %s within %s of the fence (--max-block): writes would stay " ..
        "blocked longer; undoing the fence", candidate:name(), tostring(ctx.frozen), ha.ms(bound)), 0)
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
  ctx.promoting = true -- from here the outcome may be unknown: see unfence
  step("make " .. candidate:name() .. " writable", function()
    local ok, err = rep.try(candidate.set_read_only, candidate, false)
    if not ok then
      -- The server answered with an error: nothing changed there.
      if type(err) == "table" and err.kind == "server" then ctx.promoting = false end
      error(err, 0)
    end
  end, function()
    -- Settled first: a statement of ours still in flight could make it
    -- writable again after this.
    candidate:settle()
    candidate:set_read_only(true)
    ctx.promotion_undone = true
  end, {
    -- The statement may have reached the candidate and no answer came
    -- back (a cancel, a timeout, a lost connection): once no statement of
    -- ours can still run there (settle), read_only says what happened.
    check = function()
      candidate:settle()
      local writable = candidate:variable("read_only") == 0
      if not writable then ctx.promoting = false end
      return writable
    end,
  })
  ctx.writable_at = rep.now()
  rep.point_of_no_return(string.format(
    "%s is the new primary and takes writes. Make sure it no longer replicates (stop_replica, " ..
    "reset_replica{all=true}); repoint each remaining server to it, e.g. " ..
    "replicant-lua -d DEPLOYMENT run relocate -- --replica %s --below %s; then run check.",
    candidate:name(), primary:name(), candidate:name()))
  if o.after_promote then
    o.after_promote(ctx)
  end
  ha.move_writes(candidate, ctx.notes)
  step("stop replication on " .. candidate:name(), function()
    candidate:stop_replica()
    candidate:reset_replica { all = true }
  end)
  -- Both option files now, before anything else can fail: whatever
  -- happens next, a restart of either keeps its new part.
  if not rep.dry_run() then
    ha.persist(candidate, false, ctx.notes)
    ha.persist(primary, true, ctx.notes)
  end
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

-- after_failure raises err again; when the failure came after the
-- promotion and the new primary no longer answers, no server may take
-- writes (the old one is fenced): the report then says so and names the
-- procedure that ends the outage, instead of calling the dead candidate
-- the new primary.
after_failure = function(ctx, err)
  if ctx.writable_at and not rep.dry_run() and not rep.try(ctx.candidate.variable, ctx.candidate, "read_only") then
    local how = string.format("%s does not answer since its promotion, and %s is fenced: no server may take " ..
      "writes. Run: replicant-lua -d DEPLOYMENT run recover -- --fenced %s (it makes %s writable again when " ..
      "no server has a transaction it lacks, and says what to do otherwise)", ctx.candidate:name(),
      ctx.primary:name(), ctx.primary:name(), ctx.primary:name())
    rep.point_of_no_return(how)
    error(string.format("switchover: %s; %s", tostring(err), how), 0)
  end
  error(err, 0)
end

function M.run(opts, from_cli)
  local o = cli.check(opts, M)
  hook = o.on_step
  local started = rep.now()
  rep.lock()
  local ctx = preflight(o)
  if ctx.noop then
    print(string.format("switchover: %s is already the primary; nothing to do", ctx.primary:name()))
    return ctx
  end
  rep.log.info("switchover %s -> %s: preflight passed", ctx.primary:name(), ctx.candidate:name())
  presync(ctx, o)
  fence(ctx, o)
  local ok, err = rep.try(function()
    promote(ctx, o)
    repoint(ctx)
    if not rep.dry_run() then
      local replicas = { ctx.primary }
      for _, db in ipairs(ctx.others) do table.insert(replicas, db) end
      ha.verify(ctx.candidate, replicas, o.wait_timeout)
    end
  end)
  if not ok then after_failure(ctx, err) end
  if rep.dry_run() then
    print(string.format("switchover: would move %s -> %s (dry run: nothing was changed)", ctx.primary:name(),
      ctx.candidate:name()))
    return ctx
  end
  ctx.blocked = ctx.writable_at - ctx.fence_start
  ctx.wall = rep.now() - started
  print(string.format("switchover: %s -> %s done in %s; writes blocked for %s (expected about %s from the " ..
    "last of %d catch-ups, read_only at attempt %d)%s", ctx.primary:name(), ctx.candidate:name(), ha.ms(ctx.wall),
    ha.ms(ctx.blocked), ha.ms(ctx.expected_block), ctx.presync_rounds, ctx.read_only_attempts or 1,
    ctx.killed_first and "; client sessions were killed before read_only (see the warning)" or ""))
  if #ctx.skipped > 0 then
    print("switchover: left as they were (--skip): " .. ha.left_behind(ctx.skipped, ctx.candidate))
  end
  for _, note in ipairs(ctx.notes) do print("switchover: " .. note) end
  return ctx
end

return cli.main(M, "switchover", ...)
