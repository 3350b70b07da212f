-- db3's applier fails on a duplicate key: a broken bystander.
dofile("../switchover_happy/setup.lua")
local db1, db3 = replicant.server("db1"), replicant.server("db3")
assert(db3:wait_for(db1:gtid_executed(), { timeout = "10s" }))
db3:exec("SET SESSION sql_log_bin = 0")
db3:exec("INSERT INTO s.t (id, v) VALUES (11, 0)")
db3:exec("SET SESSION sql_log_bin = 1")
db1:exec("INSERT INTO s.t (v) VALUES (11)")
for _ = 1, 500 do
  if db3:replica_status().last_sql_errno ~= 0 then break end
  replicant.sleep("20ms")
end
assert(db3:replica_status().last_sql_errno ~= 0, "db3 did not break")
