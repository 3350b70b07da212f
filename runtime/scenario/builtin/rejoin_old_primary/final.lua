local expect = require "replicant.test"
expect.topology_is("db2", { "db1", "db3" })
expect.rows("db1", "s.t", 11)
