local db1 = replicant.server("db1")
assert(db1:replica_status() == nil and db1:variable("read_only") == 0, "db1 changed")
