local rep = require "replicant"
local st = rep.server("db2"):replica_status()
assert(rep.server(st.source_host .. ":" .. st.source_port) == rep.server("db1"), "db2 was moved")
