-- rejoin: bring an old primary back as a replica of the current primary.
--
--   replicant-lua -d dep.lua run rejoin -- --server db1 [--primary db2]
--
-- Safe only when the old primary has nothing the new primary lacks: a
-- server that died with transactions nobody received (they are in its
-- binary log only) would fail with error 1236, or worse, replicate around
-- them. rejoin refuses then and says how to rebuild it instead.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.options = { server = "string", primary = "string", wait_timeout = "duration" }

function M.run(opts)
  local o = cli.check(opts, M.options, "rejoin")
  assert(o.server, "rejoin: option server is required (the old primary)")
  o.wait_timeout = o.wait_timeout or 30
  local old = rep.server(o.server)
  local others = {}
  for _, db in ipairs(ha.servers()) do
    if db ~= old then table.insert(others, db) end
  end
  local primary = o.primary and rep.server(o.primary) or ha.find_primary(others)
  rep.lock()
  if ha.source_of(old) == primary then
    print(string.format("rejoin: %s already replicates from %s; nothing to do", old:name(), primary:name()))
    return
  end
  local extra = ha.errant(old, primary)
  if not extra:is_empty() then
    error(string.format("rejoin: %s has transactions %s that %s lacks (they never left it). " ..
      "Rebuild it from a backup or a replica (run clone -- --from %s --to %s), or, if they must be kept, " ..
      "apply them to %s by hand first.", old:name(), tostring(extra), primary:name(), primary:name(),
      old:name(), primary:name()), 0)
  end
  rep.step("make " .. old:name() .. " read-only", function()
    old:set_read_only(true)
  end, function()
    old:set_read_only(false)
  end)
  rep.step("replicate " .. old:name() .. " from " .. primary:name(), function()
    old:stop_replica()
    old:change_source(primary, { demote = true })
    old:start_replica()
  end)
  if not rep.dry_run() then
    ha.verify_replica(old, primary, o.wait_timeout)
  end
  print(string.format("rejoin: %s replicates from %s", old:name(), primary:name()))
end

return cli.main(M, "rejoin", ...)
