-- A switchover, then the old primary detached as after a manual failover.
dofile("../switchover_happy/setup.lua")
require("replicant.switchover").run { to = "db2" }
local db1 = replicant.server("db1")
db1:stop_replica()
db1:reset_replica { all = true }
replicant.server("db2"):exec("INSERT INTO s.t (v) VALUES (11)")
