-- Nothing changed: same primary, same read_only flags, same positions.
local expect = require "replicant.test"
expect.topology_is("db1", { "db2", "db3" })
