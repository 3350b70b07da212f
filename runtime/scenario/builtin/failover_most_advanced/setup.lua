local db1 = replicant.server("db1")
db1:exec("CREATE DATABASE s")
db1:exec("CREATE TABLE s.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
for i = 1, 10 do db1:exec("INSERT INTO s.t (v) VALUES (?)", i) end
-- db2 stops receiving; db3 gets 5 more rows: db3 is the most advanced.
local db1, db2, db3 = replicant.server("db1"), replicant.server("db2"), replicant.server("db3")
db2:wait_for(db1:gtid_executed(), { timeout = "10s" })
db2:stop_replica { thread = "io" }
for i = 1, 5 do db1:exec("INSERT INTO s.t (v) VALUES (?)", 100 + i) end
assert(db3:wait_for(db1:gtid_executed(), { timeout = "10s" }))
