-- ping: connect to every server of the deployment and say what answers.
--
--   replicant-lua -d deployment.lua run ping
--
-- Prints one line per server: name, address, flavor and version, whether
-- it is read-only, and whom it replicates from. Fails (exit 1) when any
-- server cannot be reached, after trying them all.
local rep = require "replicant"
local cli = require "replicant.cli"

local function describe(db)
  local ro = db:variable("read_only") == 1 and "read-only" or "writable"
  local st = db:replica_status()
  local role = "not a replica"
  if st then
    role = string.format("replica of %s:%d (io %s, sql %s)", st.source_host, st.source_port,
      st.io_thread, st.sql_thread)
  end
  return string.format("%-8s %-22s %-16s %-10s %s", db:name(), db:address(),
    db:flavor() .. " " .. db:version(), ro, role)
end

local M = {}

M.needs_deployment = true
M.options = {}

function M.run(opts)
  cli.check(opts, M)
  local failed = 0
  for _, db in ipairs(rep.servers()) do
    local ok, line = pcall(describe, db)
    if not ok then
      failed = failed + 1
      line = string.format("%-8s %-22s DOWN: %s", db:name(), db:address(), tostring(line))
    end
    print(line)
  end
  if failed > 0 then
    error(failed .. " server(s) did not answer", 0)
  end
end

return cli.main(M, "ping", ...)
