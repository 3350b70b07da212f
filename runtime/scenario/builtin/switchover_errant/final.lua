-- Refused before anything changed: db1 still the writable primary.
local rep = require "replicant"
local db1, db2 = rep.server("db1"), rep.server("db2")
assert(db1:replica_status() == nil and db1:variable("read_only") == 0, "db1 changed")
assert(db2:variable("read_only") == 1, "db2 changed")
local st = db2:replica_status()
assert(st and st.io_running and st.sql_running, "db2 replication changed")
