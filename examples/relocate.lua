-- relocate.lua: move a replica under another server with GTID
-- auto-positioning, check that data flows, and move it back.
--
--   replicant-lua -d sandbox/deployment.lua run examples/relocate.lua [-- REPLICA NEW_SOURCE]
--
-- With the sandbox's defaults it puts db3 below db2 and back below db1.
local rep = require "replicant"

local replica = rep.server(arg[1] or "db3")
local new_source = rep.server(arg[2] or "db2")

local function move(db, source)
  db:stop_replica()
  db:change_source(source, { heartbeat = "1s" })
  db:start_replica()
  local st = db:replica_status()
  print(string.format("%s now replicates from %s:%d (io %s, sql %s)", db:name(),
    st.source_host, st.source_port, st.io_thread, st.sql_thread))
end

local old = replica:replica_status()
assert(old, replica:name() .. " is not a replica")
local old_source = rep.server(old.source_host .. ":" .. old.source_port)

-- Only move a replica that is caught up with the server it will follow:
-- GTID auto-positioning resumes from what it has applied.
assert(new_source:gtid_executed():contains(replica:gtid_executed()),
  replica:name() .. " has transactions " .. new_source:name() .. " lacks")
move(replica, new_source)

local primary_gtids = old_source:gtid_executed()
if replica:wait_for(primary_gtids, { timeout = "30s" }) then
  print(replica:name() .. " has applied " .. tostring(primary_gtids))
else
  error(replica:name() .. " did not catch up within 30s", 0)
end

move(replica, old_source)
