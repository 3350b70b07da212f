-- clone: make a new replica from a running server's backup.
--
--   replicant-lua -d dep.lua run clone -- --from db2 --to db4 [--method logical|physical]
--       [--dir /backups/db4-seed] [--wait-timeout 60s]
--
-- 1. Check the target: reachable, not a replica of anything yet (it is
--    about to be overwritten), a server_id no other server has (a replica
--    skips events carrying its own server_id, so a clash replicates nothing).
-- 2. Back up --from (a replica is best: the primary is spared) with
--    rep.backup; the image records its GTID position and checksums.
-- 3. Restore it into --to with rep.restore (logical: load with the binary
--    log off; physical: into a new datadir swapped in through the target's
--    machine), which sets the GTID position.
-- 4. Point the target at the primary by GTID, read-only, and verify it
--    has caught up.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.needs_deployment = true
M.options = {
  { "from", "server", "the server to back up (a replica spares the primary)", required = true },
  { "to", "server", "the server to overwrite with the copy", required = true },
  { "method", "string", "how to copy (default: rep.backup's)", choices = { "logical", "physical" } },
  { "dir", "string", "where the backup image goes (default: a new directory under $TMPDIR)" },
  { "wait_timeout", "duration", "how long the new replica may take to catch up", default = "60s" },
}

local function check_target(target, servers)
  if target:replica_status() then
    error(string.format("clone: %s already replicates; reset it first (reset_replica{all=true}) if it may be overwritten",
      target:name()), 0)
  end
  local id = target:variable("server_id")
  for _, db in ipairs(servers) do
    if db ~= target then
      local ok, other = rep.try(db.variable, db, "server_id")
      if ok and other == id then
        error(string.format("clone: %s has server_id %d like %s; give it its own first", target:name(), id, db:name()), 0)
      end
    end
  end
end

function M.run(opts)
  local o = cli.check(opts, M)
  local from, target = rep.server(o.from), rep.server(o.to)
  local servers = ha.servers()
  rep.lock()
  local primary = ha.find_primary(ha.discover())
  if primary == target then
    error("clone: " .. target:name() .. " is the primary; clone into a replica or a spare", 0)
  end
  check_target(target, servers)
  local dir = o.dir or (os.getenv("TMPDIR") or "/tmp") .. "/replicant-clone-" .. target:name() .. "-" .. os.time()
  local image = rep.step("back up " .. from:name(), function()
    return rep.backup { server = from, to = dir, method = o.method }
  end)
  rep.log.info("clone: image %s at %s (%s bytes)", dir, tostring(image.gtid), tostring(image.payload_size))
  rep.step("restore into " .. target:name(), function()
    rep.restore { image = dir, server = target }
  end)
  rep.step("replicate " .. target:name() .. " from " .. primary:name(), function()
    target:set_read_only(true)
    target:change_source(primary)
    target:start_replica()
  end)
  if not rep.dry_run() then
    ha.verify_replica(target, primary, o.wait_timeout)
    ha.persist_read_only(target, true)
  end
  print(string.format("clone: %s restored from %s's %s image (%s) and replicates from %s", target:name(),
    from:name(), image.method, tostring(image.gtid), primary:name()))
end

return cli.main(M, "clone", ...)
