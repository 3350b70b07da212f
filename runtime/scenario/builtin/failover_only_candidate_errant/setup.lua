-- db2, the only replica, has a write of its own after everything the
-- primary sent it; then the primary dies. Promoting db2 would keep a
-- transaction the primary never had: refused.
local rep = require "replicant"
local db1, db2 = rep.server("db1"), rep.server("db2")
db1:exec("CREATE DATABASE s")
db1:exec("CREATE TABLE s.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
assert(db2:wait_for(db1:gtid_executed(), { timeout = "10s" }))
db2:exec("INSERT INTO s.t (id, v) VALUES (100, 1)")
