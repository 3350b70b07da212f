-- replicant.commands: the Python Replicant's commands, with its names, for
-- those who know them. Each is a thin wrapper over the server methods,
-- which are flavor-correct (MASTER_POS_WAIT or SOURCE_POS_WAIT, SHOW SLAVE
-- or SHOW REPLICA STATUS) and raise instead of carrying on: where the
-- Python library raised NotMasterError, NotSlaveError or
-- SlaveNotRunningError, these raise an error object with that `kind`.
--
--   local commands = require "replicant.commands"
--   commands.change_master(replica, primary, commands.fetch_master_pos(primary))
local rep = require "replicant"

local M = {}

-- Re-raise an API error under the Python library's name for it, blaming
-- the playbook line that called the command.
local python_kind = {
  not_primary = "NotMasterError",
  not_replica = "NotSlaveError",
  replication_stopped = "SlaveNotRunningError",
}

local function call(fn, ...)
  local ok, result = pcall(fn, ...)
  if ok then
    return result
  end
  if type(result) == "table" and python_kind[result.kind] then
    rep.raise { kind = python_kind[result.kind], message = result.message, server = result.server,
      op = result.op, code = result.code, sqlstate = result.sqlstate, level = 2 }
  end
  error(result, 0)
end

local function not_slave(server, op)
  rep.raise { kind = "NotSlaveError", server = server, op = op, level = 2,
    message = "not a replica (no replication source configured)" }
end

-- change_master(slave, master, position): stop replication, point the
-- slave at master (the deployment's replication user), start again. With a
-- position it starts from that binlog file:pos; without one it positions
-- itself by GTID, which the Python library could not.
function M.change_master(slave, master, position)
  call(slave.stop_replica, slave)
  call(slave.change_source, slave, master, position and { position = position } or nil)
  call(slave.start_replica, slave)
end

-- fetch_master_pos(server) → the position its binary log is writing at.
function M.fetch_master_pos(server)
  return call(server.position, server)
end

-- fetch_slave_pos(server) → the position in its source's binary log that
-- it has executed up to.
function M.fetch_slave_pos(server)
  local status = call(server.replica_status, server)
  if not status then
    not_slave(server, "fetch_slave_pos")
  end
  return status.executed_position
end

-- slave_wait_for_pos(slave, position, timeout) → true when the slave has
-- executed up to position, false on timeout.
function M.slave_wait_for_pos(slave, position, timeout)
  return call(slave.wait_for, slave, position, { timeout = timeout })
end

-- slave_wait_and_stop(slave, position): run replication up to exactly
-- position and stop there.
function M.slave_wait_and_stop(slave, position, timeout)
  return call(slave.wait_and_stop, slave, position, { timeout = timeout })
end

-- replicate_to_position(server, position): the same, from a stopped slave.
M.replicate_to_position = M.slave_wait_and_stop

-- slave_status_wait_until(server, field, pred, timeout) polls the replica
-- status until pred(status[field]) is true and returns that value. Fields
-- are replica_status() names (sql_running, seconds_behind, ...). Without a
-- timeout it polls as long as the run may.
function M.slave_status_wait_until(server, field, pred, timeout)
  local deadline = timeout and os.time() + timeout
  while true do
    local status = call(server.replica_status, server)
    if not status then
      not_slave(server, "slave_status_wait_until")
    end
    local value = status[field]
    if value == nil and field ~= "seconds_behind" then
      error(string.format("slave_status_wait_until: replica_status() has no field %q", field), 2)
    end
    if pred(value) then
      return value
    end
    if deadline and os.time() > deadline then
      return nil
    end
    rep.sleep("100ms")
  end
end

-- slave_wait_for_empty_relay_log(server): wait until the slave has
-- executed everything it has received.
function M.slave_wait_for_empty_relay_log(server, timeout)
  local status = call(server.replica_status, server)
  if not status then
    not_slave(server, "slave_wait_for_empty_relay_log")
  end
  return call(server.wait_for, server, status.read_position, { timeout = timeout })
end

-- flush_and_lock_database(server) → the binlog position at which writes
-- stopped. The lock holds on the server object's session until
-- unlock_database(server).
function M.flush_and_lock_database(server)
  call(server.lock_tables, server)
  local ok, pos = pcall(server.position, server)
  if ok then
    return pos
  end
  if type(pos) == "table" and pos.kind == "not_primary" then
    return nil -- locked, but no binary log to give a position of
  end
  error(pos, 0)
end

function M.unlock_database(server)
  call(server.unlock_tables, server)
end

M.lock_database = M.flush_and_lock_database
M.fetch_master_position = M.fetch_master_pos
M.fetch_slave_position = M.fetch_slave_pos

return M
