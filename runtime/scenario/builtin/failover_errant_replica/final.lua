local rep = require "replicant"
local db3 = rep.server("db3")
assert(db3:replica_status() == nil and db3:variable("read_only") == 0, "db3 is not the primary")
assert(rep.server("db2"):variable("read_only") == 1, "db2 was made writable")
