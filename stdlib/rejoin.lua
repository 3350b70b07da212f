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

M.needs_deployment = true
M.options = {
  { "server", "server", "the old primary to bring back as a replica", required = true },
  { "primary", "server", "the primary to follow (default: discovery's)" },
  { "wait_timeout", "duration", "how long it may take to catch up", default = "30s" },
}

-- primary_for finds the primary the old one should follow: the one
-- given, or discovery's. When the old primary came back writable there
-- are two candidates for "the primary"; the other one is then the
-- deployment's only writable server with replicas.
local function primary_for(topo, old, o)
  if o.primary then return rep.server(o.primary) end
  local p = topo:primary()
  if p and p ~= old then return p end
  local found
  for _, n in ipairs(topo:nodes()) do
    if n.server ~= old and n.reachable and n.replica_status == nil and #n.replicas > 0 then
      if found then error("rejoin: several servers could be the primary; give --primary", 0) end
      found = n.server
    end
  end
  if not found then error("rejoin: no primary other than " .. old:name() .. " found; give --primary", 0) end
  return found
end

function M.run(opts)
  local o = cli.check(opts, M)
  local old = rep.server(o.server)
  rep.lock()
  local topo = ha.discover()
  local primary = primary_for(topo, old, o)
  if ha.source_of(old) == primary then
    print(string.format("rejoin: %s already replicates from %s; nothing to do", old:name(), primary:name()))
    return
  end
  local extra = ha.errant(topo, old, primary)
  if extra then
    error(string.format("rejoin: %s has transactions %s that %s lacks (they never left it). " ..
      "Rebuild it from a backup or a replica (run clone -- --from %s --to %s), or, if they must be kept, " ..
      "apply them to %s by hand first.", old:name(), extra, primary:name(), primary:name(),
      old:name(), primary:name()), 0)
  end
  rep.step("make " .. old:name() .. " read-only", function()
    old:set_read_only(true)
  end, function()
    old:set_read_only(false)
  end)
  local notes = {}
  if not rep.dry_run() then ha.persist(old, true, notes) end
  rep.step("replicate " .. old:name() .. " from " .. primary:name(), function()
    old:stop_replica()
    old:change_source(primary, { demote = true })
    old:start_replica()
  end)
  if rep.dry_run() then
    print(string.format("rejoin: would make %s a replica of %s (dry run: nothing was changed)", old:name(),
      primary:name()))
    return
  end
  ha.verify_replica(old, primary, o.wait_timeout)
  print(string.format("rejoin: %s replicates from %s", old:name(), primary:name()))
  for _, note in ipairs(notes) do print("rejoin: " .. note) end
end

return cli.main(M, "rejoin", ...)
