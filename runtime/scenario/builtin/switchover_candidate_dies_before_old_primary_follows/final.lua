-- db3 is the primary, db1 (the fenced old primary) and db4 follow it,
-- db2's write survived, and what db3 takes next reaches both.
local rep = require "replicant"
rep.server("db3"):exec("INSERT INTO s.t (v) VALUES (100)")
require("replicant.test").topology_is("db3", { "db1", "db4" })
require("replicant.test").rows("db1", "s.t", 12)
require("replicant.test").rows("db4", "s.t", 12)
