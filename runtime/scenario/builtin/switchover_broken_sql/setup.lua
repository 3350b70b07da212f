local db1 = replicant.server("db1")
db1:exec("CREATE DATABASE s")
db1:exec("CREATE TABLE s.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
for i = 1, 10 do db1:exec("INSERT INTO s.t (v) VALUES (?)", i) end
-- Break db2's applier: a row the primary will insert already exists there.
local db2 = replicant.server("db2")
db2:wait_for(replicant.server("db1"):gtid_executed(), { timeout = "10s" })
db2:exec("SET SESSION sql_log_bin = 0")
db2:exec("INSERT INTO s.t (id, v) VALUES (11, 0)")
db2:exec("SET SESSION sql_log_bin = 1")
replicant.server("db1"):exec("INSERT INTO s.t (id, v) VALUES (11, 11)")
for _ = 1, 100 do
  if not db2:replica_status().sql_running then break end
  replicant.sleep("50ms")
end
