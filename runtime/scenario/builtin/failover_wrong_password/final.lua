-- Nothing changed: both replicas still follow db1, read-only, receivers on.
local rep = require "replicant"
for _, name in ipairs { "db2", "db3" } do
  local db = rep.server(name)
  local st = db:replica_status()
  assert(st and st.io_running and st.sql_running, name .. " no longer replicates")
  assert(db:variable("read_only") == 1, name .. " was made writable")
end
