-- basic.lua: the Python Replicant's basic example, in Lua.
--
--   replicant-lua sandbox up
--   replicant-lua -d sandbox/deployment.lua run examples/basic.lua
--
-- Lists the databases on the primary, prints the primary's binary log
-- position, and for every other server its replication position, or that
-- it is not configured as a replica.
local rep = require "replicant"

-- The primary is the server of the deployment that replicates from no one.
local primary, replicas = nil, {}
for _, db in ipairs(rep.servers()) do
  if db:replica_status() == nil and primary == nil then
    primary = db
  else
    table.insert(replicas, db)
  end
end
assert(primary, "no server of the deployment is a primary")

print("Databases on the primary " .. primary:name() .. ":")
for _, row in ipairs(primary:sql("SHOW DATABASES")) do
  print("  " .. row.Database)
end

print("Primary position: " .. tostring(primary:position()) .. ", GTID " .. tostring(primary:gtid_executed()))
for _, db in ipairs(replicas) do
  local status = db:replica_status()
  if status then
    -- A replica positioned by GTID learns its source's file:pos from the
    -- first event it receives; until then the GTID is what it knows.
    local pos = status.executed_position.file ~= "" and tostring(status.executed_position) or "(none yet)"
    print(string.format("Replica %s position: %s, GTID %s (replicating from %s:%d)",
      db:name(), pos, tostring(db:gtid_executed()), status.source_host, status.source_port))
  else
    print("Replica " .. db:name() .. " is not configured as a replica")
  end
end
