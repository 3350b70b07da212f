-- t.lag, t.errant, t.break_sql and t.max_connections, each observed on
-- the server and, where it can be, undone.
local t = require "replicant.test"
t.topology { servers = 3 }
local db1, db2, db3 = rep.server("db1"), rep.server("db2"), rep.server("db3")

t.lag("db2", 3600)
t.eq(db2:replica_status().sql_delay, 3600, "db2's SQL_Delay")
t.lag("db2", 0)
t.eq(db2:replica_status().sql_delay, 0, "db2's SQL_Delay once lag ends")

local gtid = t.errant("db3")
local e = rep.discover():errant(db3, db1)
if not e then error("db3 has no errant transaction after t.errant (" .. tostring(gtid) .. ")") end
if not tostring(e.gtids):find(gtid, 1, true) then error("db3's errant " .. tostring(e.gtids) .. " lacks " .. gtid) end

t.break_sql("db2")
local st = db2:replica_status()
t.eq(st.last_sql_errno, 1062, "db2's applier error")
t.eq(st.sql_running, false, "db2's applier running")

local before = db1:variable("max_connections")
t.max_connections("db1", 12)
t.eq(db1:variable("max_connections"), 12, "db1's max_connections")
t.max_connections("db1", before)
