-- db2 took over; db3 still follows db1's corpse until an operator
-- finishes the job as the report says. Finish it here, and check.
local rep = require "replicant"
local ha = require "replicant.ha"
ha.repoint(rep.server("db3"), rep.server("db2"))
require("expect").topology("db2", { "db3" })
