local rep = require "replicant"
local st = rep.server("db3"):replica_status()
assert(rep.server(st.source_host .. ":" .. st.source_port) == rep.server("db2"), "db3 does not follow db2")
assert(st.sql_delay == 3600 and st.sql_running and st.io_running, "db3 lost its delay or its threads")
