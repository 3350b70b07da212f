local db1 = replicant.server("db1")
db1:exec("CREATE DATABASE s")
db1:exec("CREATE TABLE s.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
for i = 1, 10 do db1:exec("INSERT INTO s.t (v) VALUES (?)", i) end
-- Both replicas caught up: equals, so the promotion rule and then the name
-- decide (db2). failover_most_advanced covers unequal replicas.
local db1 = replicant.server("db1")
for _, name in ipairs { "db2", "db3" } do
  assert(replicant.server(name):wait_for(db1:gtid_executed(), { timeout = "10s" }))
end
