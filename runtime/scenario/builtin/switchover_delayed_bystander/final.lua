-- db3 follows db2 and keeps its delay.
local rep = require "replicant"
local db2, db3 = rep.server("db2"), rep.server("db3")
require("replicant.test").topology_is("db2", { "db1" })
local st = db3:replica_status()
assert(rep.server(st.source_host .. ":" .. st.source_port) == db2, "db3 does not follow db2")
assert(st.sql_delay == 3600, "db3 lost its delay: " .. tostring(st.sql_delay))
assert(st.sql_running, "db3's applier is not running")
