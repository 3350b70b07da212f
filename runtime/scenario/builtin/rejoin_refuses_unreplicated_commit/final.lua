local rep = require "replicant"
local db1 = rep.server("db1")
assert(db1:replica_status() == nil, "db1 was repointed anyway")
assert(db1:variable("read_only") == 1, "db1 is writable")
