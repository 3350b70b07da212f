-- ping: connect to every server of the deployment and say what answers.
--
--   replicant-lua -d deployment.lua run ping
--
-- Prints one line per server: name, address, flavor and version, whether
-- it is read-only, and whether it replicates. Fails (exit 1) when any
-- server cannot be reached, after trying them all.
local rep = require "replicant"

local failed = 0
for _, db in ipairs(rep.servers()) do
  local ok, err = pcall(function()
    local ro = db:variable("read_only")
    local replica = #db:sql("SHOW SLAVE STATUS") > 0
    print(string.format("%-8s %-22s %-16s %-10s %s", db:name(), db:address(),
      db:flavor() .. " " .. db:version(), ro == 1 and "read-only" or "writable",
      replica and "replica" or "not a replica"))
  end)
  if not ok then
    failed = failed + 1
    print(string.format("%-8s %-22s DOWN: %s", db:name(), db:address(), tostring(err)))
  end
end
if failed > 0 then
  error(failed .. " server(s) did not answer", 0)
end
