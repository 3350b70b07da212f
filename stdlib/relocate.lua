-- relocate: move a replica under another source, by GTID.
--
--   replicant-lua -d dep.lua run relocate -- --replica db3 --below db2 [--wait-timeout 30s]
--   require("replicant.relocate").run{ replica = "db3", below = "db2" }
--
-- Refuses when the replica has transactions its new source lacks (it
-- could not follow it), or when the new source does not log what it
-- replicates (log_slave_updates), then repoints, waits until the replica
-- has caught up with its new source, and verifies.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.needs_deployment = true
M.options = {
  { "replica", "server", "the replica to move", required = true },
  { "below", "server", "its new source", required = true },
  { "wait_timeout", "duration", "how long the new source may take to catch up", default = "30s" },
}

function M.run(opts)
  local o = cli.check(opts, M)
  local replica, source = rep.server(o.replica), rep.server(o.below)
  if replica == source then
    error("relocate: a server cannot replicate from itself", 0)
  end
  rep.lock()
  local current = ha.source_of(replica)
  if current == source then
    print(string.format("relocate: %s already replicates from %s; nothing to do", replica:name(), source:name()))
    return
  end
  if ha.source_of(source) == replica then
    error(string.format("relocate: %s replicates from %s; that would make a loop", source:name(), replica:name()), 0)
  end
  if current ~= nil and source:variable("log_slave_updates") ~= 1 and ha.source_of(source) ~= nil then
    error(source:name() .. " does not log what it replicates (log_slave_updates=0): it cannot feed a replica", 0)
  end
  -- A replica may simply be ahead of its new source when both follow the
  -- same primary: give the source time to catch up before calling the
  -- difference errant.
  local topo = ha.discover()
  local errant = ha.errant(topo, replica, source)
  if errant and ha.source_of(source) ~= nil and ha.delay(replica) == 0 then
    source:wait_for(replica:gtid_executed(), { timeout = o.wait_timeout })
    errant = ha.errant(topo, replica, source)
  end
  if errant then
    error(string.format("relocate: %s has %s, which %s lacks: it cannot follow it", replica:name(),
      errant, source:name()), 0)
  end
  rep.step("repoint " .. replica:name() .. " to " .. source:name(), function()
    ha.repoint(replica, source)
  end, current and function()
    ha.repoint(replica, current)
  end)
  if rep.dry_run() then
    print(string.format("relocate: would move %s under %s (dry run: nothing was changed)", replica:name(),
      source:name()))
    return
  end
  ha.verify_replica(replica, source, o.wait_timeout)
  print(string.format("relocate: %s now replicates from %s", replica:name(), source:name()))
end

return cli.main(M, "relocate", ...)
