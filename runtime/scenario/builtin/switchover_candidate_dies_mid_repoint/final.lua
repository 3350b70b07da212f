-- db4 is the primary, db1 and db3 follow it, db2's write survived on all
-- of them, and what db4 takes next reaches both.
local rep = require "replicant"
rep.server("db4"):exec("INSERT INTO s.t (v) VALUES (100)")
require("replicant.test").topology_is("db4", { "db1", "db3" })
require("replicant.test").rows("db1", "s.t", 12)
require("replicant.test").rows("db3", "s.t", 12)
