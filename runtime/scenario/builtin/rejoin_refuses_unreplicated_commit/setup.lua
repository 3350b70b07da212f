-- db1 commits a row its replicas never receive (their receivers are
-- stopped), then dies.
dofile("../switchover_happy/setup.lua")
local db1 = replicant.server("db1")
for _, name in ipairs { "db2", "db3" } do
  local db = replicant.server(name)
  assert(db:wait_for(db1:gtid_executed(), { timeout = "10s" }))
  db:stop_replica { thread = "io" }
end
db1:exec("INSERT INTO s.t (v) VALUES (500)")
