-- The dead primary's option file was written through its machine: started
-- again, it comes back read-only, not as a second writable primary.
local rep = require "replicant"
local db1 = rep.server("db1")
db1:start()
assert(db1:variable("read_only") == 1, "db1 came back writable")
local found
for _, p in ipairs(rep.discover():problems()) do
  assert(p.kind ~= "multiple_primaries" and p.kind ~= "multiple_writable", p.message)
end
-- rejoin persists it too: after a restart db1 is a read-only replica.
require("replicant.rejoin").run { server = "db1" }
db1:restart()
db1:start_replica()
assert(db1:variable("read_only") == 1, "db1 came back writable after rejoin")
require("replicant.test").topology_is("db2", { "db1", "db3" })
