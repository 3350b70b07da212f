-- on_step: a hook runs while the named step of a bundled procedure
-- waits. The failover stopped db3's receiver before promoting db2; a
-- replica killed at the repoint step leaves a failover that says what
-- it left.
local t = require "replicant.test"
t.topology { servers = 3 }
rep.server("db1"):exec("CREATE DATABASE IF NOT EXISTS app")
t.topology_is("db1", { "db2", "db3" }) -- both caught up: --prefer decides
t.kill("db1")
local seen = {}
local r = t.run { "run", "failover", "--", "--prefer", "db2", on_step = {
  ["promote "] = function(step)
    table.insert(seen, step.procedure .. ": " .. step.step)
    t.eq(rep.server("db3"):replica_status().io_running, false, "db3's receiver while db2 is promoted")
  end,
  ["repoint "] = function(step)
    table.insert(seen, step.step)
    t.kill("db3")
  end,
} }
t.eq(table.concat(seen, "; "), "failover: promote db2; repoint db3 to db2", "the steps the hooks saw\n" .. r.stderr)
if r.exit == 0 then error("the failover succeeded although db3 died at the repoint:\n" .. r.stderr) end
if not r.stderr:find("db3", 1, true) then error("the failover's error does not name db3:\n" .. r.stderr) end
t.primary_is("db2")
