-- tail.lua: follow a server's binary log live, one line per event.
--
--   replicant-lua -d sandbox/deployment.lua run examples/tail.lua -- db1 [count]
--
-- Starts at the server's current position and prints every new event,
-- until COUNT events have been printed or Ctrl-C. A restart of the server
-- is waited out (for up to a minute) and reading resumes where it was. It reads over the
-- replication protocol (the "stream" reader: the tool's user needs
-- REPLICATION SLAVE), which pushes events as they are written and knows
-- their timestamps and row counts; the server lists the reader in SHOW
-- SLAVE HOSTS as "replicant-lua" while it runs.
local rep = require "replicant"

local db = rep.server(arg[1] or "db1")
local count = tonumber(arg[2])
local start = db:position()
print(string.format("following %s from %s%s", db:name(), tostring(start),
  count and (" for " .. count .. " events") or ""))

-- What is worth a glance for each type of event.
local function detail(ev)
  if ev.query then
    local q = ev.query:gsub("%s+", " ")
    if #q > 80 then q = q:sub(1, 77) .. "..." end
    return (ev.db and ("[" .. ev.db .. "] ") or "") .. q
  elseif ev.rows then
    return string.format("%s: %d row%s", ev.table or ("table " .. ev.table_id), ev.rows, ev.rows == 1 and "" or "s")
  elseif ev.table then
    return ev.table
  elseif ev.xid then
    return "commit, xid " .. ev.xid
  elseif ev.next_file then
    return "continues in " .. ev.next_file
  end
  return ""
end

for ev in db:binlog_events { from = start, follow = true, reader = "stream", limit = count, reconnect = "60s" } do
  print(string.format("%s %s:%d %-14s %-10s %s", os.date("%H:%M:%S", ev.timestamp), ev.file, ev.pos,
    ev.type, ev.gtid or "", detail(ev)))
end
