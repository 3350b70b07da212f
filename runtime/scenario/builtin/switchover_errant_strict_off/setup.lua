-- MariaDB's default gtid_strict_mode=OFF: a write on db2 (the tool's
-- account bypasses read_only) is buried by the primary's next writes, so
-- db2's gtid_current_pos looks like db1's. Only its binlog state shows it.
local rep = require "replicant"
local db1, db2 = rep.server("db1"), rep.server("db2")
db1:exec("CREATE DATABASE s")
db1:exec("CREATE TABLE s.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
assert(db2:wait_for(db1:gtid_executed(), { timeout = "10s" }))
db2:exec("INSERT INTO s.t (id, v) VALUES (100, 1)")
db1:exec("INSERT INTO s.t (v) VALUES (2)")
db1:exec("INSERT INTO s.t (v) VALUES (3)")
assert(db2:wait_for(db1:gtid_executed(), { timeout = "10s" }))
assert(db2:gtid_executed() == db1:gtid_executed(), "the errant write is not buried")
