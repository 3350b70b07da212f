local expect = require "replicant.test"
expect.topology_is("db3", { "db2" })
for _, n in ipairs { "db2", "db3" } do expect.rows(n, "s.t", 15) end
