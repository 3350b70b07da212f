-- The old primary, detached, took writes nobody else has.
dofile("../switchover_happy/setup.lua")
require("replicant.switchover").run { to = "db2" }
local db1 = replicant.server("db1")
db1:stop_replica()
db1:reset_replica { all = true }
db1:exec("INSERT INTO s.t (v) VALUES (500)")
