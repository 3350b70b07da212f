-- Refused before anything changed, and check still sees the divergence.
local rep = require "replicant"
local db1, db2 = rep.server("db1"), rep.server("db2")
assert(db1:replica_status() == nil and db1:variable("read_only") == 0, "db1 changed")
assert(db2:variable("read_only") == 1 and db2:replica_status().sql_running, "db2 changed")
local found
for _, p in ipairs(rep.discover():problems()) do
  if p.kind == "errant_transactions" and p.name == "db2" then found = true end
end
assert(found, "check no longer reports db2's errant transaction")
