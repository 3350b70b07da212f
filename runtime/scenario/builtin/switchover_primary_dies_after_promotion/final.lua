-- db2 took over; db3 still follows db1's corpse until an operator
-- finishes the job as the report says. Finish it here, and check.
local rep = require "replicant"
local ha = require "replicant.ha"
ha.repoint(rep.server("db3"), rep.server("db2"))
require("replicant.test").topology_is("db2", { "db3" })
-- Both option files were written right after the promotion, before the
-- step that failed: db1 comes back read-only, db2 stays writable after a
-- restart.
local db1, db2 = rep.server("db1"), rep.server("db2")
db1:start()
assert(db1:variable("read_only") == 1, "db1 came back writable after the failed switchover")
db2:restart()
assert(db2:variable("read_only") == 0, "db2 came back read-only")
