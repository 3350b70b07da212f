-- rolling_restart: restart every server of the deployment through its
-- machine (to load new options or binaries) without taking writes down for
-- more than a switchover's window.
--
--   replicant-lua -d dep.lua run rolling_restart [-- --to db2] [--back]
--       [--wait-timeout 60s]
--
-- 1. Replicas first, one at a time: restart, wait until both threads run
--    and it has caught up with the primary, before the next.
-- 2. Switch the primary role to a restarted replica (--to, or the first
--    candidate), restart the old primary, wait until it has caught up.
-- 3. With --back, switch back to the original primary.
-- Each server needs machine = { ... } in its deployment entry. Servers
-- restarted as replicas get read-only = 1 in their option file first (a
-- restart forgets SET GLOBAL read_only), the primary read-only = 0.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.needs_deployment = true
M.options = {
  { "to", "server", "the replica that takes over the primary role (default: the first candidate)" },
  { "back", "boolean", "switch back to the original primary at the end" },
  { "wait_timeout", "duration", "how long each restarted server may take to catch up", default = "60s" },
  { "max_lag", "duration", "the switchovers refuse a candidate that lags more", default = "10s" },
}

local function persist_read_only(db, on)
  assert(ha.persist_read_only(db, on), db:name() .. ": no machine to reach its option file")
end

local function say(format, ...)
  print("rolling_restart: " .. string.format(format, ...))
end

-- restart_replica restarts db and waits until it has caught up, with a
-- line as it goes down, when it is back, and when it has caught up.
local function restart_replica(db, primary, timeout)
  rep.step("restart " .. db:name(), function()
    persist_read_only(db, true)
    -- A dry run restarted nothing and switched nothing over: there is no
    -- new state to verify.
    if rep.dry_run() then
      db:restart()
      db:start_replica()
      say("would restart %s and wait until it has caught up with %s", db:name(), primary:name())
      return
    end
    local source = ha.source_of(db) or primary
    say("restarting %s", db:name())
    local start = rep.now()
    db:restart()
    -- A restarted replica starts replicating by itself unless
    -- skip-slave-start is set; start it in case, harmless otherwise.
    db:start_replica()
    local back = rep.now()
    say("%s back in %s", db:name(), ha.ms(back - start))
    ha.verify_replica(db, source, timeout)
    say("%s caught up with %s in %s", db:name(), source:name(), ha.ms(rep.now() - back))
  end)
end

function M.run(opts)
  local o = cli.check(opts, M)
  local servers = ha.servers()
  rep.lock()
  local primary = ha.find_primary(ha.discover())
  local replicas = {}
  for _, db in ipairs(servers) do
    if db ~= primary then table.insert(replicas, db) end
  end
  for _, db in ipairs(replicas) do
    restart_replica(db, primary, o.wait_timeout)
  end
  if #replicas == 0 then
    say(rep.dry_run() and "would restart %s, which has no replica to take over" or
      "restarting %s, which has no replica to take over", primary:name())
    rep.step("restart " .. primary:name() .. " (no replica to take over)", function() primary:restart() end)
    say(rep.dry_run() and "%s would be restarted; writes would stop meanwhile" or
      "%s restarted; it had no replica, so writes stopped meanwhile", primary:name())
    return
  end
  local to = o.to or replicas[1]:name()
  local switchover = require "replicant.switchover"
  say(rep.dry_run() and "would switch over from %s to %s" or "switching over from %s to %s", primary:name(), to)
  switchover.run { to = to, max_lag = o.max_lag, wait_timeout = o.wait_timeout }
  persist_read_only(rep.server(to), false)
  restart_replica(primary, rep.server(to), o.wait_timeout)
  if o.back then
    say(rep.dry_run() and "would switch back to %s" or "switching back to %s", primary:name())
    switchover.run { to = primary:name(), max_lag = o.max_lag, wait_timeout = o.wait_timeout }
    persist_read_only(primary, false)
    persist_read_only(rep.server(to), true)
  end
  if rep.dry_run() then
    print(string.format("rolling_restart: would restart %d server(s), the primary %s after a switchover to %s%s " ..
      "(dry run: nothing was changed)", #servers, primary:name(), to, o.back and " and back" or ""))
    return
  end
  print(string.format("rolling_restart: %d server(s) restarted; the primary is %s", #servers,
    o.back and primary:name() or to))
end

return cli.main(M, "rolling_restart", ...)
