-- t.kill ends a server as a crash would; t.restart brings it back, with a
-- new pid, replicating again.
local t = require "replicant.test"
t.topology { servers = 2 }
local db2 = rep.server("db2")
local before = t.pid("db2")
t.kill("db2")
t.eq(t.pid("db2"), 0, "db2's pid once killed")
t.eq(pcall(db2.variable, db2, "server_id"), false, "a query on a killed db2 succeeds")
t.restart("db2")
local after = t.pid("db2")
if after == 0 or after == before then error(string.format("db2's pid after restart: %d (before %d)", after, before)) end
rep.server("db1"):exec("CREATE DATABASE restarted")
t.topology_is("db1", { "db2" })
