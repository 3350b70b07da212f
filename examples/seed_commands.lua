-- seed_commands.lua: the Python Replicant's commands, by their old names.
--
--   replicant-lua -d sandbox/deployment.lua run examples/seed_commands.lua [-- REPLICA]
--
-- Takes a replica (db2 by default), lets it replicate up to exactly the
-- primary's current binlog position and stop there, reports where it is,
-- and starts it again.
local rep = require "replicant"
local commands = require "replicant.commands"

local replica = rep.server(arg[1] or "db2")
local status = replica:replica_status()
if not status then
  error(replica:name() .. " is not a replica", 0)
end
local primary = rep.server(status.source_host .. ":" .. status.source_port)

local target = commands.fetch_master_pos(primary)
print("primary " .. primary:name() .. " is at " .. tostring(target))

commands.slave_wait_and_stop(replica, target, 30)
print(replica:name() .. " stopped at " .. tostring(commands.fetch_slave_pos(replica)))

commands.change_master(replica, primary) -- restart replication, by GTID
commands.slave_status_wait_until(replica, "sql_running", function(running) return running end, 30)
print(replica:name() .. " replicates again from " .. primary:address())
