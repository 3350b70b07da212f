-- db3 leaves replication and loses its data: the server to rebuild.
dofile("../switchover_happy/setup.lua")
local db1, db3 = replicant.server("db1"), replicant.server("db3")
assert(db3:wait_for(db1:gtid_executed(), { timeout = "10s" }))
db3:stop_replica()
db3:reset_replica { all = true }
db3:exec("SET SESSION sql_log_bin = 0")
db3:exec("DROP DATABASE s")
