-- Nothing changed: same primary, same read_only flags, same positions.
local expect = require "expect"
expect.topology("db1", { "db2", "db3" })
