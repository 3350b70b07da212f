-- db1 takes writes again, db3 still follows it, and everything db1 takes
-- reaches db3.
local rep = require "replicant"
rep.server("db1"):exec("INSERT INTO s.t (v) VALUES (11)")
require("replicant.test").topology_is("db1", { "db3" })
require("replicant.test").rows("db3", "s.t", 11)
