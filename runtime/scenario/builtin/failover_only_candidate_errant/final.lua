assert(replicant.server("db2"):variable("read_only") == 1, "db2 was promoted")
