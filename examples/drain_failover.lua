-- drain_failover.lua: fail over from a primary that stopped answering,
-- moving the clients away from it first.
--
--   replicant-lua -d deployment.lua run drain_failover.lua db1
--
-- 1. Every HAProxy the deployment names puts the old primary in
--    maintenance: new clients wait in HAProxy instead of reaching a
--    server that may wake up and take writes.
-- 2. The old primary is fenced through its machine (SIGKILL): hung is
--    not dead, and a failover next to a primary that comes back makes
--    two writable servers.
-- 3. The bundled failover promotes the most advanced replica, repoints
--    the others, and routes HAProxy's writes to the new primary.
--
-- Its test is tests/drain_failover_test.lua (replicant-lua test).
local rep = require "replicant"
local haproxy = require "replicant.haproxy"
local failover = require "replicant.failover"

local old = arg[1] or error("usage: run drain_failover.lua PRIMARY", 0)
local proxies = haproxy.deployment()

rep.step("drain " .. old .. " in HAProxy", function()
  for _, p in ipairs(proxies) do p:set(old, "maint") end
end, function()
  for _, p in ipairs(proxies) do p:set(old, "ready") end
end)
rep.step("fence " .. old, function() rep.server(old):fence() end)   -- SIGKILL, through its machine
failover.run { dead = old }                                          -- routes HAProxy's writes too
