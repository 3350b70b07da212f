-- clone: make a new replica from a running server's backup.
--
--   replicant-lua -d dep.lua run clone -- --from db2 --to db4 [--method logical|physical]
--       [--dir /backups/db4-seed] [--keep] [--wait-timeout 60s]
--
-- 1. Check the target: reachable, not a replica of anything yet (it is
--    about to be overwritten), a server_id no other server has (a replica
--    skips events carrying its own server_id, so a clash replicates nothing).
-- 2. Back up --from (a replica is best: the primary is spared) with
--    rep.backup; the image records its GTID position and checksums. It goes
--    into --dir, kept there, or into a temporary directory that is removed
--    when the clone ends, done or failed, unless --keep is given.
-- 3. Restore it into --to with rep.restore (logical: load with the binary
--    log off; physical: into a new datadir swapped in through the target's
--    machine, the previous datadir kept beside it and named in the report
--    for the operator to delete), which sets the GTID position.
-- 4. Point the target at the primary by GTID, read-only, with the
--    connection settings a replica of the same primary has (--from
--    first): connect_retry, heartbeat and TLS, so that the clone
--    reconnects and verifies like its siblings rather than with the
--    server's defaults. Then verify it has caught up.
-- Each phase prints a line; in a dry run, what it would do.
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.needs_deployment = true
M.options = {
  { "from", "server", "the server to back up (a replica spares the primary)", required = true },
  { "to", "server", "the server to overwrite with the copy", required = true },
  { "method", "string", "how to copy (default: rep.backup's)", choices = { "logical", "physical" } },
  { "dir", "string", "where the backup image goes, and stays (default: a temporary directory)" },
  { "keep", "boolean", "keep the temporary image when the clone ends" },
  { "wait_timeout", "duration", "how long the new replica may take to catch up", default = "60s" },
}

local function say(format, ...)
  print("clone: " .. string.format(format, ...))
end

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

-- connection_settings(st) → the change_source options that give a new
-- replica the connection st describes. TLS is copied only when st has it
-- on, never turned off: with repl_tls in the deployment change_source
-- verifies by default, and a sibling in clear text must not undo that.
-- The other TLS settings (certificate, key, cipher, CRL) have no
-- change_source option and are not copied.
local function connection_settings(st)
  local opts = {}
  if (st.connect_retry or 0) > 0 then opts.connect_retry = st.connect_retry end
  if (st.heartbeat or 0) > 0 then opts.heartbeat = st.heartbeat end
  if st.ssl_allowed == "Yes" then
    opts.ssl = true
    if st.ssl_ca ~= "" then opts.ssl_ca = st.ssl_ca end
    if st.ssl_verify_server_cert then opts.ssl_verify_server_cert = true end
  end
  return opts
end

-- sibling_settings(primary, from, target, servers) → the connection
-- settings of a replica of primary (from first, then the deployment's
-- order) and that replica; nil when primary has no other replica (the
-- server's defaults and the deployment's repl_tls then apply).
local function sibling_settings(primary, from, target, servers)
  local order = { from }
  for _, db in ipairs(servers) do
    if db ~= from then table.insert(order, db) end
  end
  for _, db in ipairs(order) do
    if db ~= target and db ~= primary then
      local ok, src, st = rep.try(ha.source_of, db)
      if ok and src == primary then
        return connection_settings(st), db
      end
    end
  end
  return nil, nil
end

local function describe(settings)
  local out = {}
  for _, k in ipairs({ "connect_retry", "heartbeat", "ssl", "ssl_ca", "ssl_verify_server_cert" }) do
    if settings[k] ~= nil then table.insert(out, k .. " " .. tostring(settings[k])) end
  end
  return #out > 0 and table.concat(out, ", ") or "the server's defaults"
end

function M.run(opts)
  local o = cli.check(opts, M)
  local dry = rep.dry_run()
  local from, target = rep.server(o.from), rep.server(o.to)
  local servers = ha.servers()
  rep.lock()
  local primary = ha.find_primary(ha.discover())
  if primary == target then
    error("clone: " .. target:name() .. " is the primary; clone into a replica or a spare", 0)
  end
  check_target(target, servers)
  local settings, sibling = sibling_settings(primary, from, target, servers)
  local dir = o.dir or (os.getenv("TMPDIR") or "/tmp") .. "/replicant-clone-" .. target:name() .. "-" .. os.time()
  -- A temporary image goes when the clone ends: the undo removes it when
  -- a later step fails (or the run is interrupted), the end of the run
  -- when all went well.
  local temporary = o.dir == nil and not o.keep
  local image = rep.step("back up " .. from:name() .. " into " .. dir, function()
    return rep.backup { server = from, to = dir, method = o.method }
  end, temporary and function()
    if rep.remove_image(dir) then say("image %s removed", dir) end
  end or nil)
  if dry then
    say("would back up %s (%s) into %s", from:name(), image.method, dir)
  else
    local at = image.gtid:is_empty() and "an empty GTID set" or "GTID " .. tostring(image.gtid)
    say("backup of %s taken: %s (%s, %s bytes)", from:name(), dir, at, tostring(image.payload_size))
  end

  local restored = rep.step("restore into " .. target:name(), function()
    return rep.restore { image = dir, server = target }
  end)
  local old_datadir = restored.old_datadir ~= "" and restored.old_datadir or nil
  if dry then
    say("would restore it into %s%s", target:name(), image.method == "physical" and
      " (a new datadir swapped in; the previous one kept beside it as DATADIR.old-STAMP)" or "")
  else
    say("restored into %s%s", target:name(), old_datadir and
      ("; its previous datadir is kept at " .. old_datadir .. ": delete it once the clone is verified") or "")
  end

  rep.step("replicate " .. target:name() .. " from " .. primary:name(), function()
    target:set_read_only(true)
    target:change_source(primary, settings)
    target:start_replica()
  end)
  local how = sibling and string.format(" with %s's connection settings (%s)", sibling:name(), describe(settings)) or ""
  say(dry and "%s would replicate from %s%s" or "%s replicating from %s%s", target:name(), primary:name(), how)
  if not dry then
    ha.verify_replica(target, primary, o.wait_timeout)
    ha.persist_read_only(target, true)
    say("%s has caught up with %s", target:name(), primary:name())
  end

  local kept = dir
  if temporary then
    rep.remove_image(dir)
    kept = nil
    say(dry and "would remove the image %s" or "image %s removed", dir)
  else
    say(dry and "would keep the image at %s" or "the image is kept at %s", dir)
  end
  if dry then
    say("would restore %s from %s's %s image and make it replicate from %s (dry run: nothing was changed)",
      target:name(), from:name(), image.method, primary:name())
  else
    print(string.format("clone: %s restored from %s's %s image (%s) and replicates from %s", target:name(),
      from:name(), image.method, tostring(image.gtid), primary:name()))
  end
  return { target = target, source = from, primary = primary, method = image.method, gtid = image.gtid,
    image = kept, old_datadir = old_datadir, settings = settings, settings_from = sibling }
end

return cli.main(M, "clone", ...)
