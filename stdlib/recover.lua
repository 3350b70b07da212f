-- recover: end an outage in which no server takes writes, as after a
-- switchover whose new primary died right after its promotion, or whose
-- promotion was interrupted: the old primary is fenced (read-only) and
-- nothing else is writable.
--
--   replicant-lua -d dep.lua run recover
--
-- 1. Discover, and ask whether the fenced primary may take writes again:
--    only when no reachable server has a transaction it lacks (else writes
--    reached the server that died, or were made elsewhere, and unfencing
--    would fork the history: recover refuses and says what to do).
-- 2. Make it writable, with read-only = 0 in its option file.
-- 3. Repoint under it every reachable replica of a deployment server that
--    does not answer (they followed the dead candidate), and verify.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.options = { wait_timeout = "duration" }

-- orphans are the reachable servers whose source is a deployment server
-- that does not answer.
local function orphans(topo, primary)
  local out = {}
  for _, n in ipairs(topo:nodes()) do
    if n.reachable and n.source and n.server ~= primary then
      local src = topo:node(n.source)
      if src and not src.reachable and not src.outside then table.insert(out, n.server) end
    end
  end
  return out
end

function M.run(opts)
  local o = cli.check(opts, M.options, "recover")
  o.wait_timeout = o.wait_timeout or 30
  rep.lock()
  local topo = ha.discover()
  local r = topo:recovery()
  if r.action ~= "unfence" then
    error("recover: " .. r.reason, 0)
  end
  local primary = r.server
  local moved = orphans(topo, primary)
  if rep.dry_run() then
    print(string.format("recover: would make %s writable again and repoint %d replica(s) (dry run: nothing " ..
      "was changed)", primary:name(), #moved))
    return
  end
  rep.step("make " .. primary:name() .. " writable again", function()
    primary:unlock_tables()
    primary:set_read_only(false)
  end, function()
    primary:set_read_only(true)
  end)
  rep.point_of_no_return(string.format("%s takes writes again. Repoint each replica that followed a server " ..
    "that is gone: replicant-lua -d DEPLOYMENT run relocate -- --replica NAME --below %s; then run check.",
    primary:name(), primary:name()))
  local notes = {}
  ha.persist(primary, false, notes)
  if #moved > 0 then
    rep.step("repoint " .. ha.names(moved) .. " to " .. primary:name(), function()
      ha.repoint_all(moved, primary)
    end)
  end
  ha.verify(primary, moved, o.wait_timeout)
  print(string.format("recover: %s takes writes again; %d replica(s) repointed", primary:name(), #moved))
  for _, note in ipairs(notes) do print("recover: " .. note) end
end

return cli.main(M, "recover", ...)
