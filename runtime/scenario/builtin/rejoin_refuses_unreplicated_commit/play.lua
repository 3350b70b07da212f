-- Fail over, let the new primary take a write, bring db1 back, rejoin it.
local rep = require "replicant"
require("replicant.failover").run {}
rep.server("db2"):exec("INSERT INTO s.t (v) VALUES (11)")
local db1 = rep.server("db1")
db1:start()
require("replicant.rejoin").run { server = "db1" }
