local db1 = replicant.server("db1")
assert(db1:replica_status() == nil, "db1 was repointed anyway")
