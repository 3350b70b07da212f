local rep = require "replicant"
for _, name in ipairs { "db2", "db3" } do
  local db = rep.server(name)
  local st = db:replica_status()
  assert(st.io_thread ~= "No", name .. "'s receiver was left stopped")
  assert(db:variable("read_only") == 1, name .. " was promoted")
end
