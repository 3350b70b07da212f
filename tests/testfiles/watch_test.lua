-- watch runs from a test: the primary killed, watch fails over on its own.
local t = require "replicant.test"
t.topology { servers = 3 }
local w = t.watch { "--interval", "250ms" }
rep.sleep("1s") -- a few looks at a healthy cluster
t.kill("db1")
w:wait_for("dead_primary db1", "20s")
for _ = 1, 300 do -- up to 30 s for the failover to finish
  local p = rep.discover():primary()
  if p and p:name() ~= "db1" and p:variable("read_only") == 0 then break end
  rep.sleep("100ms")
end
local out = w:stop()
t.eq(out.exit, 0, "watch's exit on SIGTERM\n" .. out.output)
local primary = rep.discover():primary():name()
t.topology_is(primary, { primary == "db2" and "db3" or "db2" })
