-- watch runs from a test: the primary killed, watch fails over on its
-- own, once.
local t = require "replicant.test"
t.topology { servers = 3 }
local w = t.watch { "--interval", "250ms" }
rep.sleep("1s") -- a few looks at a healthy cluster
t.kill("db1")
w:wait_for("dead_primary db1", "20s")
w:wait_for("failover of db1 done", "30s")
local out = w:stop()
t.eq(out.exit, 0, "watch's exit on SIGTERM\n" .. out.output)
local _, failovers = out.output:gsub("failing over db1", "")
t.eq(failovers, 1, "failovers of db1 in watch's log")
local primary = rep.discover():primary():name()
t.topology_is(primary, { primary == "db2" and "db3" or "db2" })
