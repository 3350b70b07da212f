-- simple.lua: the Python Replicant's simple.py — give every server of the
-- deployment the role its entry names, the master first.
--
--   replicant-lua -d deployment.lua run examples/simple.lua
--
-- A deployment entry names its role and how its server is run:
--   db1 = { host = ..., port = ..., role = "master", machine = { defaults_file = "/srv/db1/my.cnf" } },
--   db2 = { host = ..., port = ..., role = { kind = "final", master = "db1" }, machine = { ... } },
-- Each imbue edits the server's option file (keeping its comments),
-- restarts it only when the file changed, and raises on any failure.
local rep = require "replicant"

local d = rep.deployment()
local order = {}
for _, name in ipairs(d.names) do
  local entry = d.servers[name]
  if entry.role == "master" then table.insert(order, 1, name) elseif entry.role then table.insert(order, name) end
end

for _, name in ipairs(order) do
  local entry = d.servers[name]
  local role
  if entry.role == "master" then
    role = rep.roles.master {}
  elseif entry.role == "vagabond" then
    role = rep.roles.vagabond()
  else
    role = rep.roles[entry.role] { master = entry.role_master }
  end
  local restarted = rep.server(name):imbue(role)
  print(string.format("%s: %s%s", name, tostring(role), restarted and " (restarted)" or ""))
end
