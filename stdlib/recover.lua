-- recover: end an outage in which no server takes writes, as after a
-- switchover whose new primary died right after its promotion, or whose
-- promotion was interrupted: the old primary is fenced (read-only) and
-- nothing else is writable.
--
--   replicant-lua -d dep.lua run recover
--
--   replicant-lua -d dep.lua run recover -- --fenced db1
--
-- --fenced names the fenced old primary when the new primary died after
-- other servers followed it (the switchover's report says so): the tree
-- then has the dead candidate at its top, and db1 replicates from no one.
--
-- 1. Discover, and ask topology how the outage ends (topo:recovery()):
--    - unfence: no reachable server has a transaction the fenced primary
--      lacks, so it takes writes again;
--    - promote: a server is ahead of it (it got writes from the new
--      primary that died), has every transaction any reachable server has,
--      and the servers that do not answer are dead (no replica reaches
--      them): that server becomes the primary, and every other reachable
--      server, the fenced one too, replicates from it;
--    - otherwise recover refuses and says why (errant writes, a server
--      that may still run, forked histories).
-- 2. Make the chosen server writable, with read-only = 0 in its option
--    file (read-only = 1 in the others').
-- 3. Repoint under it every reachable server that followed a server that
--    is gone (and, after a promotion, every other one), and verify.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.needs_deployment = true
M.options = {
  { "fenced", "server", "the old primary, fenced by a switchover whose candidate died after others followed it" },
  { "wait_timeout", "duration", "how long each repointed server may take to catch up", default = "30s" },
}

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

-- others are every reachable deployment server but primary.
local function others(topo, primary)
  local out = {}
  for _, n in ipairs(topo:nodes()) do
    if n.reachable and not n.outside and n.server ~= primary then table.insert(out, n.server) end
  end
  return out
end

local function unfence(topo, r, o)
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
  ha.move_writes(primary, notes)
  if #moved > 0 then
    rep.step("repoint " .. ha.names(moved) .. " to " .. primary:name(), function()
      ha.repoint_all(moved, primary)
    end)
  end
  ha.verify(primary, moved, o.wait_timeout)
  print(string.format("recover: %s takes writes again; %d replica(s) repointed", primary:name(), #moved))
  for _, note in ipairs(notes) do print("recover: " .. note) end
end

local function promote(topo, r, o)
  local primary = r.server
  local rest = others(topo, primary)
  local gone = table.concat(r.gone, ", ")
  rep.log.info("recover: %s", r.reason)
  if rep.dry_run() then
    print(string.format("recover: would make %s the primary (it has every transaction a reachable server has; " ..
      "%s is gone) and repoint %s under it (dry run: nothing was changed)", primary:name(), gone, ha.names(rest)))
    return
  end
  rep.step("stop replication on " .. primary:name(), function()
    if primary:replica_status() ~= nil then
      primary:stop_replica()
      primary:reset_replica { all = true }
    end
  end)
  rep.step("make " .. primary:name() .. " writable", function()
    primary:set_read_only(false)
  end, function()
    primary:set_read_only(true)
  end)
  rep.point_of_no_return(string.format("%s is the primary and takes writes. Repoint each other server to " ..
    "it: replicant-lua -d DEPLOYMENT run relocate -- --replica NAME --below %s (a server that was the primary " ..
    "before: rejoin); then run check.", primary:name(), primary:name()))
  local notes = {}
  ha.persist(primary, false, notes)
  ha.move_writes(primary, notes)
  for _, db in ipairs(rest) do ha.persist(db, true, notes) end
  if #rest > 0 then
    rep.step("repoint " .. ha.names(rest) .. " to " .. primary:name(), function()
      for _, db in ipairs(rest) do db:unlock_tables() end
      ha.repoint_all(rest, primary, { demote = true })
    end)
  end
  ha.verify(primary, rest, o.wait_timeout)
  print(string.format("recover: %s is the new primary (%s is gone; writes only it had are lost); %d " ..
    "server(s) repointed", primary:name(), gone, #rest))
  for _, note in ipairs(notes) do print("recover: " .. note) end
end

function M.run(opts)
  local o = cli.check(opts, M)
  rep.lock()
  local topo = ha.discover()
  -- --fenced names the old primary when the switchover's candidate died
  -- after other servers followed it: the tree's primary is then the dead
  -- candidate, and the fenced server replicates from no one.
  local r = topo:recovery(o.fenced and rep.server(o.fenced) or nil)
  if r.action == "unfence" then
    unfence(topo, r, o)
  elseif r.action == "promote" then
    promote(topo, r, o)
  else
    error("recover: " .. r.reason, 0)
  end
end

return cli.main(M, "recover", ...)
