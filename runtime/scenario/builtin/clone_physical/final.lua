local expect = require "replicant.test"
replicant.server("db1"):exec("INSERT INTO s.t (v) VALUES (11)")
expect.topology_is("db1", { "db2", "db3" })
expect.rows("db3", "s.t", 11)
