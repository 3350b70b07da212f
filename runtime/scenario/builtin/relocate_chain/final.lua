local rep = require "replicant"
local expect = require "replicant.test"
local db1, db2, db3 = rep.server("db1"), rep.server("db2"), rep.server("db3")
db1:exec("INSERT INTO s.t (v) VALUES (11)")
local st = db3:replica_status()
assert(rep.server(st.source_host .. ":" .. st.source_port) == db2, "db3 does not replicate from db2")
assert(db3:wait_for(db1:gtid_executed(), { timeout = "20s" }), "db3 did not get db1's write through db2")
expect.rows("db3", "s.t", 11)
-- and back below db1
require("replicant.relocate").run { replica = "db3", below = "db1" }
expect.topology_is("db1", { "db2", "db3" })
