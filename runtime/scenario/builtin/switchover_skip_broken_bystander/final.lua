local rep = require "replicant"
require("replicant.test").topology_is("db2", { "db1" })
-- db3 was left as it was: still under db1, still broken.
local st = rep.server("db3"):replica_status()
assert(rep.server(st.source_host .. ":" .. st.source_port) == rep.server("db1"), "db3 was moved")
assert(st.last_sql_errno == 1062, "db3 changed")
