-- db3 applies an hour late on purpose; db2 has everything.
dofile("../switchover_delayed_candidate/setup.lua")
local rep = require "replicant"
local db1, db2 = rep.server("db1"), rep.server("db2")
for i = 1, 5 do db1:exec("INSERT INTO s.t (v) VALUES (?)", i) end
assert(db2:wait_for(db1:gtid_executed(), { timeout = "10s" }))
