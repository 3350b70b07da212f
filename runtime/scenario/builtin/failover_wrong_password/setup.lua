local db1 = replicant.server("db1")
db1:exec("CREATE DATABASE s")
db1:exec("CREATE TABLE s.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
for _, name in ipairs { "db2", "db3" } do
  assert(replicant.server(name):wait_for(db1:gtid_executed(), { timeout = "10s" }))
end
