replicant.server("db1"):set_read_only(true)
