-- replicant.cli: how a bundled procedure reads its options, so that
-- `replicant-lua run switchover -- --to db2 --max-lag 5s` and
-- `require("replicant.switchover").run{ to = "db2", max_lag = "5s" }` take the
-- same options, checked the same strict way, by one parser (in Go).
--
-- A procedure declares each option once, in M.options:
--
--   M.options = {
--     { "to", "server", "the replica to promote", required = true },
--     { "max_lag", "duration", "refuse a candidate lagging more", default = "10s" },
--     { "skip", "servers", "replicas to leave as they are" },
--   }
--   M.needs_deployment = true   -- or { unless = "from" }
--
-- Kinds: string, server (a deployment server's name, or host:port),
-- servers and list (db2,db3 on the command line, a list in Lua),
-- duration (30s, 2m, 500ms or seconds; the procedure reads seconds),
-- count (a whole number), number, boolean (a bare --flag on the command
-- line) and function (hooks, table calls only). Defaults are written as
-- the command line would. That declaration also drives doc NAME,
-- run NAME --help, shell completion and the editor annotations.
local rep = require "replicant"
local parser = require "replicant.optparse"

local M = {}

-- decl accepts a procedure module (with name, options, needs_deployment)
-- or, as before, a spec table with the procedure's name.
local function decl(spec, name)
  if type(spec) == "table" and (spec.options ~= nil or spec.needs_deployment ~= nil) then
    return { name = name or spec.name, options = spec.options, needs_deployment = spec.needs_deployment }
  end
  return { name = name, options = spec }
end

-- M.check(opts, module) checks a table call's options: unknown keys and
-- wrong types raise a usage error naming the option; durations become
-- seconds and declared defaults fill in. M.check(opts, spec, name) also
-- works, spec being a declaration list or { key = "kind" }.
function M.check(opts, spec, name)
  return parser.check(decl(spec, name), opts)
end

-- M.parse(args, module) reads a command line: "--key value",
-- "--key=value", a bare "--flag" for a boolean.
function M.parse(args, spec, name)
  return parser.args(decl(spec, name), args)
end

-- M.main(module, name, ...) runs module.run with the command line when the
-- file runs as a procedure, and returns what it returned (--json prints
-- it); when the file is required, it returns the module.
--
-- Either way module.run runs as a procedure of its own (rep.procedure):
-- its steps, point of no return and recovery text are its own, so a
-- playbook that runs two switchovers, or rolling_restart that runs two,
-- undoes the failed one's steps only and reports its recovery text only.
--
-- The options are checked before the procedure starts, so that a mistake
-- in them is reported alone, at the caller's line, with no step journal.
function M.main(module, name, ...)
  module.name = name
  local run = module.run
  module.run = function(opts, ...)
    return rep.procedure(name, run, M.check(opts, module), ...)
  end
  local first = ...
  if first == "replicant." .. name then
    return module
  end
  return module.run(M.parse({ ... }, module), true)
end

-- M.server(x) accepts a server object or a name/address.
function M.server(x)
  if type(x) == "string" then
    return rep.server(x)
  end
  return x
end

return M
