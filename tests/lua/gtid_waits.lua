-- GTID waits and repointing, against a sandbox: db1 primary, db2 and db3
-- its replicas.
local rep = require "replicant"
local check = require "check"

local primary, r1, r2 = rep.server("db1"), rep.server("db2"), rep.server("db3")

primary:exec("CREATE DATABASE gtidtest")
primary:exec("CREATE TABLE gtidtest.t (id INT PRIMARY KEY)")
local g = primary:gtid_executed()
check.eq(g:flavor(), "mariadb", "flavor")
check.eq(r1:wait_for(g, { timeout = "30s" }), true, "wait on a GTID set")
check.truthy(r1:gtid_executed():contains(g), "replica contains the primary's set")
check.eq(r1:wait_for(tostring(g), { timeout = "30s" }), true, "wait on GTID text")

-- A wait that cannot finish in time returns false (receiver stopped, so
-- the new transaction never arrives).
r1:stop_replica { thread = "io" }
primary:exec("INSERT INTO gtidtest.t VALUES (1)")
local later = primary:gtid_executed()
check.eq(r1:wait_for(later, { timeout = "500ms" }), false, "timeout returns false")
check.truthy(not r1:gtid_executed():contains(later), "not applied yet")
r1:start_replica { thread = "io" }
check.eq(r1:wait_for(later, { timeout = "30s" }), true, "reached after restart")

-- A wait on a stopped applier raises instead of waiting out its timeout.
r1:stop_replica { thread = "sql" }
local err = check.raises("replication_stopped", r1.wait_for, r1, later:union("0-1-999999"), { timeout = "30s" })
check.eq(err.op, "wait_for", "op")
r1:start_replica()

-- Repoint db3 below db2 with GTID auto-position, then back.
r2:stop_replica()
r2:change_source(r1, { heartbeat = "1s" })
r2:start_replica()
primary:exec("INSERT INTO gtidtest.t VALUES (2)")
check.eq(r2:wait_for(primary:gtid_executed(), { timeout = "30s" }), true, "chained replica caught up")
local st = r2:replica_status()
check.eq(st.source_port, tonumber(r1:address():match(":(%d+)$")), "db3 replicates from db2")
check.eq(st.using_gtid, "Slave_Pos", "GTID auto-position")
check.eq(st.io_running and st.sql_running, true, "threads running")
check.eq(check.count(r2, "gtidtest.t"), 2, "rows on db3")

-- Read-only and variables.
r2:set_read_only(true)
check.eq(r2:variable("read_only"), 1, "read_only on")
check.raises("usage", r2.set_read_only, r2, true, { super = true })
r2:set_variable("max_connections", 222)
check.eq(r2:variable("max_connections"), 222, "set_variable")
check.raises("usage", r2.set_variable, r2, "max_connections", 151, { persist = true })
print("gtid ok")
