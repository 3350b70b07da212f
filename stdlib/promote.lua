-- promote: make a replica a standalone, writable primary (no fence, no
-- repointing): for a replica being split off, or the last step of a
-- failover done by hand.
--
--   replicant-lua -d dep.lua [--yes] run promote -- --server db2
local rep = require "replicant"
local cli = require "replicant.cli"
local ha = require "replicant.ha"

local M = {}

M.needs_deployment = true
M.options = {
  { "server", "server", "the replica to make a writable primary", required = true },
  { "wait_timeout", "duration", "how long it may take to apply its relay log", default = "30s" },
}

function M.run(opts)
  local o = cli.check(opts, M)
  local db = rep.server(o.server)
  rep.lock()
  local src, st = ha.source_of(db)
  if not st and db:variable("read_only") == 0 then
    print("promote: " .. db:name() .. " is already a writable primary; nothing to do")
    return
  end
  if st then
    if not rep.confirm(string.format("%s replicates from %s; stop that and make it writable?", db:name(), src:name())) then
      error("promote: not confirmed; nothing was changed", 0)
    end
    rep.step("apply the relay log on " .. db:name(), function()
      db:stop_replica { thread = "io" }
      if not db:wait_for(db:replica_status().retrieved_gtids, { timeout = o.wait_timeout }) then
        error(db:name() .. " did not apply its relay log", 0)
      end
    end, function()
      db:start_replica { thread = "io" }
    end)
    rep.step("forget replication on " .. db:name(), function()
      db:stop_replica()
      db:reset_replica { all = true }
    end)
  end
  rep.step("make " .. db:name() .. " writable", function()
    db:set_read_only(false)
  end)
  print("promote: " .. db:name() .. " is a writable primary")
end

return cli.main(M, "promote", ...)
