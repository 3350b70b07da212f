-- The test of ../drain_failover.lua:   replicant-lua test examples/tests/
-- The primary hangs (SIGSTOP) under a client that writes through
-- HAProxy; the playbook must drain it, fence it and fail over without
-- losing an acknowledged write.
local t = require "replicant.test"

t.topology { servers = 3, haproxy = true, semi_sync = true } -- an acknowledged write is on a replica
local writer = t.writer { table = "app.orders", rate = 100, via = "haproxy" }
rep.sleep("300ms")

t.pause("db1")                                               -- SIGSTOP: its port accepts, nothing answers
local run = t.run { "run", "../drain_failover.lua", "db1" }
t.eq(run.exit, 0, "the playbook's exit code\n" .. run.stderr)

rep.sleep("300ms")
local report = writer:stop()
t.eq(#report.lost, 0, "acknowledged writes lost")
t.eq(t.pid("db1"), 0, "db1's pid once fenced")
t.routes_to("db2")                                           -- a new client through HAProxy reaches db2
t.topology_is("db2", { "db3" })
t.rows_equal("app.orders")
