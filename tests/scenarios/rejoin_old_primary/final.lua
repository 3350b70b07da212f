local expect = require "expect"
expect.topology("db2", { "db1", "db3" })
expect.rows("db1", "s.t", 11)
