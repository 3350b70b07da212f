-- db3 applies an hour late on purpose.
local rep = require "replicant"
local db1, db2, db3 = rep.server("db1"), rep.server("db2"), rep.server("db3")
db1:exec("CREATE DATABASE s")
db1:exec("CREATE TABLE s.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
assert(db3:wait_for(db1:gtid_executed(), { timeout = "10s" }))
db3:stop_replica()
db3:change_source(db1, { delay = 3600 })
db3:start_replica()
