local expect = require "replicant.test"
expect.topology_is("db2", { "db1", "db3" })
replicant.server("db2"):exec("INSERT INTO s.t (v) VALUES (11)")
expect.topology_is("db2", { "db1", "db3" })
for _, n in ipairs { "db1", "db2", "db3" } do expect.rows(n, "s.t", 11) end
-- and back again: the old primary rejoined cleanly
require("replicant.switchover").run { to = "db1" }
expect.topology_is("db1", { "db2", "db3" })
