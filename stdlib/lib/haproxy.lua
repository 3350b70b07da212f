-- replicant.haproxy: move the clients' writes with HAProxy's runtime API,
-- over its admin socket (stats socket ... level admin).
--
--   local haproxy = require "replicant.haproxy"
--   local p = haproxy.new { socket = "/run/haproxy/admin.sock", backend = "writer",
--                           servers = { db1 = "db1", db2 = "db2" } }
--   p:state()              -- { db1 = { op = "running", admin = "ready" }, ... }
--   p:set("db2", "ready")  -- set server writer/db2 state ready (or maint, drain)
--   p:route_writes("db2")  -- db2 ready, then every other server maint
--
-- The deployment names its proxies (proxies = { { kind = "haproxy",
-- socket =, backend =, servers = { db1 = "name in the backend" } } });
-- haproxy.deployment() returns them, and switchover and failover move the
-- writes to the new primary once it takes them. A change is recorded, not
-- sent, in a dry run.
local rep = require "replicant"

local M = {}
local Proxy = {}
Proxy.__index = Proxy

-- M.new{ socket =, backend =, servers = { name = "server in the backend" } }
function M.new(spec)
  assert(type(spec) == "table" and spec.socket and spec.backend,
    "haproxy.new: want { socket =, backend =, servers = {...} }")
  return setmetatable({ socket = spec.socket, backend = spec.backend, servers = spec.servers or {} }, Proxy)
end

-- M.deployment() → a proxy object for each HAProxy the deployment names.
function M.deployment()
  local out = {}
  local d = rep.deployment()
  for _, p in ipairs(d and d.proxies or {}) do
    if p.kind == "haproxy" then table.insert(out, M.new(p)) end
  end
  return out
end

function Proxy:name()
  return "haproxy " .. self.backend
end

-- srv is the backend's name for a deployment server (the same name when
-- servers does not map it).
function Proxy:srv(name)
  return self.servers[name] or name
end

local function request(self, text, read_only, target)
  local answer = rep.unix_request(self.socket, text, { read_only = read_only, target = target or self:name() })
  return answer
end

-- The operational states of "show servers state" (srv_op_state).
local op_states = { ["0"] = "stopped", ["1"] = "starting", ["2"] = "running", ["3"] = "stopping" }

-- admin decodes srv_admin_state, a bit field: maintenance (forced,
-- inherited, or from DNS) and drain.
local function admin(bits)
  local n = tonumber(bits) or 0
  -- FMAINT and IMAINT (bits 1, 2), RMAINT and HMAINT (32, 64). CMAINT (4)
  -- only marks where a forced maintenance came from ("disabled" in the
  -- configuration sets 1 and 4): after "state ready" 4 stays, measured on
  -- HAProxy 2.6, and the server takes traffic.
  if n % 4 >= 1 or math.floor(n / 32) % 4 >= 1 then return "maint" end
  if math.floor(n / 8) % 4 >= 1 then return "drain" end -- FDRAIN, IDRAIN
  return "ready"
end

-- p:state() → { [backend server name] = { op =, admin = } }, from "show
-- servers state BACKEND", whose header line names the columns.
function Proxy:state()
  local answer = request(self, "show servers state " .. self.backend, true)
  local cols, out = nil, {}
  for line in answer:gmatch("[^\n]+") do
    if line:match("^# ") then
      cols = {}
      for name in line:sub(3):gmatch("%S+") do table.insert(cols, name) end
    elseif cols then
      local row, i = {}, 1
      for v in line:gmatch("%S+") do row[cols[i] or i] = v; i = i + 1 end
      if row.be_name == self.backend and row.srv_name then
        out[row.srv_name] = { op = op_states[row.srv_op_state] or row.srv_op_state, admin = admin(row.srv_admin_state) }
      end
    end
  end
  if not cols then
    error(string.format("%s: show servers state: unexpected answer %q", self:name(), answer), 0)
  end
  return out
end

-- p:set(name, state) sets a deployment server's state in the backend:
-- "ready", "maint" or "drain". HAProxy answers nothing on success.
function Proxy:set(name, state)
  self:set_srv(self:srv(name), state)
end

-- p:set_srv(srv, state) is set for a server named as the backend names it.
function Proxy:set_srv(srv, state)
  assert(state == "ready" or state == "maint" or state == "drain", "haproxy set: state ready, maint or drain")
  local answer = request(self, string.format("set server %s/%s state %s", self.backend, srv, state), false,
    self:name() .. "/" .. srv)
  answer = answer:gsub("%s+$", "")
  if answer ~= "" then
    error(string.format("%s: set server %s/%s state %s: %s", self:name(), self.backend, srv, state, answer), 0)
  end
end

-- p:route_writes(primary) sends the writes to primary alone: it is made
-- ready first, then every other server of the backend is put in
-- maintenance, so that there is never a moment without a server (the
-- others are read-only by then: a write reaching one fails cleanly).
function Proxy:route_writes(primary)
  local target = self:srv(primary)
  local servers = self:state()
  if not servers[target] then
    error(string.format("%s: backend %s has no server %s (it has: %s)", self:name(), self.backend, target,
      table.concat(self:names(servers), ", ")), 0)
  end
  self:set_srv(target, "ready")
  for _, srv in ipairs(self:names(servers)) do
    if srv ~= target and servers[srv].admin ~= "maint" then self:set_srv(srv, "maint") end
  end
end

function Proxy:names(servers)
  local out = {}
  for srv in pairs(servers) do table.insert(out, srv) end
  table.sort(out)
  return out
end

return M
