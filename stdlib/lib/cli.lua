-- replicant.cli: how a bundled procedure reads its command line, so that
-- `replicant-lua run switchover -- --to db2 --max-lag 5` and
-- `require("replicant.switchover").run{ to = "db2", max_lag = 5 }` take the
-- same options, checked the same strict way.
local rep = require "replicant"

local M = {}

-- Durations are read by rep.duration, as every duration of the API is:
-- "2m", "1h30m", "500ms", bare seconds, or a number of seconds.
local function duration_seconds(v, key)
  local ok, secs = pcall(rep.duration, v)
  if not ok then
    error(string.format("option --%s: %q is not a duration like 30s, 2m or 500ms", key:gsub("_", "-"), tostring(v)), 0)
  end
  return secs
end

local convert = {
  string = function(v) return v end,
  number = function(v, key)
    local n = tonumber(v)
    if not n then
      error(string.format("option --%s: %q is not a number", key:gsub("_", "-"), v), 0)
    end
    return n
  end,
  duration = duration_seconds,
  boolean = function(v) return v == true or v == "true" or v == "yes" end,
  list = function(v)
    if type(v) == "table" then return v end
    local out = {}
    for item in tostring(v):gmatch("[^,%s]+") do table.insert(out, item) end
    return out
  end,
}

-- M.check(opts, spec, name) validates an options table against spec
-- ({key = "string" | "number" | "duration" | "boolean" | "list" |
-- "function"}); durations become seconds. Unknown keys are errors.
function M.check(opts, spec, name)
  local out = {}
  for k, v in pairs(opts or {}) do
    local kind = spec[k]
    if not kind then
      local valid = {}
      for key in pairs(spec) do table.insert(valid, key) end
      table.sort(valid)
      error(string.format("%s: unknown option %s (valid: %s)", name, tostring(k), table.concat(valid, ", ")), 0)
    end
    if kind == "function" then
      if type(v) ~= "function" then
        error(string.format("%s: option %s: want a function, got %s", name, k, type(v)), 0)
      end
      out[k] = v
    else
      out[k] = convert[kind](v, k)
    end
  end
  return out
end

-- M.parse(args, spec, name) reads "--key value" and "--flag" pairs.
function M.parse(args, spec, name)
  local opts, i = {}, 1
  while i <= #args do
    local key = args[i]:match("^%-%-([%w%-_]+)$")
    if not key then
      error(string.format("%s: unexpected argument %q (options are --name value)", name, args[i]), 0)
    end
    key = key:gsub("%-", "_")
    if spec[key] == "boolean" then
      opts[key] = true
      i = i + 1
    else
      if args[i + 1] == nil then
        error(string.format("%s: option --%s needs a value", name, args[i]:sub(3)), 0)
      end
      opts[key] = args[i + 1]
      i = i + 2
    end
  end
  return M.check(opts, spec, name)
end

-- M.main(module, ...) runs module.run with the command line when the file
-- runs as a procedure, and returns what it returned (--json prints it);
-- when the file is required, it returns the module.
--
-- Either way module.run runs as a procedure of its own (rep.procedure):
-- its steps, point of no return and recovery text are its own, so a
-- playbook that runs two switchovers, or rolling_restart that runs two,
-- undoes the failed one's steps only and reports its recovery text only.
function M.main(module, name, ...)
  local run = module.run
  module.run = function(...)
    return rep.procedure(name, run, ...)
  end
  local first = ...
  if first == "replicant." .. name then
    return module
  end
  return module.run(M.parse({ ... }, module.options, name), true)
end

-- M.server(x) accepts a server object or a name/address.
function M.server(x)
  if type(x) == "string" then
    return rep.server(x)
  end
  return x
end

return M
