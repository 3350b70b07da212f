local rep = require "replicant"
assert(rep.server("db1"):replica_status() == nil and rep.server("db1"):variable("read_only") == 0, "db1 changed")
