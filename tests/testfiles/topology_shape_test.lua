-- t.topology's shape: a chain (replicas_of), a delayed replica and
-- MariaDB's default gtid_strict_mode=OFF. (Semi-sync is semisync_test:
-- in a chain with semi-sync on every server, the leaf applied the first
-- write only after the 10 s semi-sync timeout, measured on 10.11.)
local t = require "replicant.test"
t.topology { servers = 4, replicas_of = { db4 = "db2" }, delay = { db3 = 3600 }, gtid_strict_mode = false }
t.replicates_from("db2", "db1")
t.replicates_from("db3", "db1")
t.replicates_from("db4", "db2")
t.eq(rep.server("db3"):replica_status().sql_delay, 3600, "db3's SQL_Delay")
t.eq(rep.server("db4"):replica_status().sql_delay, 0, "db4's SQL_Delay")
for _, name in ipairs { "db1", "db2", "db3", "db4" } do
  t.eq(rep.server(name):variable("gtid_strict_mode"), 0, name .. "'s gtid_strict_mode")
end
-- A write reaches the end of the chain.
rep.server("db1"):exec("CREATE DATABASE chained")
t.eq(rep.server("db4"):wait_for(rep.server("db1"):gtid_executed(), { timeout = "10s" }), true, "db4 applied db1's write")
