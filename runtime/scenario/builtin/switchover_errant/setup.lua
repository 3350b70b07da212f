local db1 = replicant.server("db1")
db1:exec("CREATE DATABASE s")
db1:exec("CREATE TABLE s.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
for i = 1, 10 do db1:exec("INSERT INTO s.t (v) VALUES (?)", i) end
-- An errant transaction: written on the replica itself (the tool's user
-- holds READ_ONLY ADMIN, so read_only does not stop it).
-- Let db2 apply everything first, so the errant write does not collide
-- with replicated ones (gtid_strict_mode would stop its applier instead).
local db2 = replicant.server("db2")
assert(db2:wait_for(replicant.server("db1"):gtid_executed(), { timeout = "10s" }))
db2:exec("INSERT INTO s.t (v) VALUES (99)")
