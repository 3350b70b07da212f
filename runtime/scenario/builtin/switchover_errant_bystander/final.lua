local rep = require "replicant"
local db1, db3 = rep.server("db1"), rep.server("db3")
assert(db1:replica_status() == nil and db1:variable("read_only") == 0, "db1 changed")
assert(db3:variable("read_only") == 1 and db3:replica_status().sql_running, "db3 changed")
