-- db4 is the primary, db1 and db3 follow it, db2's write survived on all
-- of them, and what db4 takes next reaches both.
local rep = require "replicant"
rep.server("db4"):exec("INSERT INTO s.t (v) VALUES (100)")
require("expect").topology("db4", { "db1", "db3" })
require("expect").rows("db1", "s.t", 12)
require("expect").rows("db3", "s.t", 12)
