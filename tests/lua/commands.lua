-- The Python Replicant's command tests (test_commands.py), as a playbook
-- against a real sandbox: db1 primary, db2 and db3 its replicas.
local rep = require "replicant"
local commands = require "replicant.commands"
local check = require "check"

local primary, replicas = rep.server("db1"), { rep.server("db2"), rep.server("db3") }

-- change_master, then create a table on the master and see it on the slaves.
for _, r in ipairs(replicas) do
  commands.change_master(r, primary)
end
primary:exec("CREATE DATABASE cmdtest")
primary:exec("CREATE TABLE cmdtest.seen (id INT PRIMARY KEY)")
local pos = commands.fetch_master_pos(primary)
for _, r in ipairs(replicas) do
  check.eq(commands.slave_wait_for_pos(r, pos, 30), true, r:name() .. " reached " .. tostring(pos))
  check.eq(commands.fetch_slave_pos(r), pos, r:name() .. " position")
  check.eq(#r:sql("SHOW TABLES FROM cmdtest LIKE 'seen'"), 1, r:name() .. " has the table")
end

-- Positions print as file:pos and compare by value.
check.truthy(tostring(pos):match("^mysql%-bin%.%d+:%d+$"), "printed position " .. tostring(pos))
check.eq(pos, rep.position(pos.file, pos.pos), "position equality")

-- slave_wait_and_stop: 2 rows at pos1, 4 at pos2, the slave stopping at each.
local slave = replicas[1]
primary:exec("CREATE TABLE cmdtest.rows (id INT PRIMARY KEY)")
commands.slave_wait_for_pos(slave, commands.fetch_master_pos(primary), 30)
slave:stop_replica()
primary:exec("INSERT INTO cmdtest.rows VALUES (1)")
primary:exec("INSERT INTO cmdtest.rows VALUES (2)")
local pos1 = commands.fetch_master_pos(primary)
primary:exec("INSERT INTO cmdtest.rows VALUES (3)")
primary:exec("INSERT INTO cmdtest.rows VALUES (4)")
local pos2 = commands.fetch_master_pos(primary)
check.truthy(pos1 < pos2, "pos1 before pos2")

check.eq(commands.slave_wait_and_stop(slave, pos1, 30), true, "stopped at pos1")
check.eq(check.count(slave, "cmdtest.rows"), 2, "rows at pos1")
check.eq(slave:replica_status().sql_running, false, "SQL thread stopped at pos1")
check.eq(commands.fetch_slave_pos(slave), pos1, "slave position at pos1")
check.eq(commands.slave_wait_and_stop(slave, pos2, 30), true, "stopped at pos2")
check.eq(check.count(slave, "cmdtest.rows"), 4, "rows at pos2")
slave:start_replica()

-- flush_and_lock_database blocks writers until unlock_database.
local app = rep.server(primary:address(), { user = "app", password = os.getenv("APP_PASSWORD"), name = "app@db1" })
local locked_at = commands.flush_and_lock_database(primary)
check.eq(locked_at, commands.fetch_master_pos(primary), "lock position")
app:exec("SET SESSION lock_wait_timeout = 1")
local err = check.raises("server", app.exec, app, "INSERT INTO cmdtest.rows VALUES (5)")
check.eq(err.code, 1205, "write under the lock times out")
commands.unlock_database(primary)
app:exec("INSERT INTO cmdtest.rows VALUES (5)")
check.eq(check.count(primary, "cmdtest.rows"), 5, "write after unlock")

-- The Python library's errors, by kind.
check.raises("NotSlaveError", commands.slave_wait_for_empty_relay_log, primary)
local ok, not_slave = pcall(commands.fetch_slave_pos, primary)
check.eq(ok or not_slave.kind, "NotSlaveError", "fetch_slave_pos on the primary")
check.truthy(not_slave.where:match("commands%.lua:%d+$"), "error blames the playbook: " .. not_slave.where)

-- slave_status_wait_until and slave_wait_for_empty_relay_log.
check.eq(commands.slave_status_wait_until(replicas[2], "sql_running", function(v) return v end, 30), true,
  "status wait")
check.eq(commands.slave_wait_for_empty_relay_log(replicas[2], 30), true, "relay log applied")
print("commands ok")
