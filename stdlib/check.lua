-- check: the health report. Prints every problem discovery finds (errant
-- transactions, stopped or failing replication threads, writable replicas,
-- server_id clashes, lag, unreachable servers, no primary or several, a
-- read-only primary, delayed replicas, option files whose read-only
-- disagrees with the server's part, logins the servers refuse) and
-- fails (exit 1) when any has severity error; warnings print and pass.
--
--   replicant-lua -d deployment.lua run check [-- --from db2] [--lag-threshold 30s]
--
-- From a playbook: require("replicant.check").run{} raises the same way.
local rep = require "replicant"
local cli = require "replicant.cli"

local M = {}

M.needs_deployment = { unless = "from" }
M.options = {
  { "from", "server", "discover from this server (default: every deployment server)" },
  { "lag_threshold", "duration", "report replicas lagging more (default: discovery's)" },
}

function M.run(opts)
  local o = cli.check(opts, M)
  local topo = rep.discover(o.from, { lag_threshold = o.lag_threshold, option_files = true })
  local problems = topo:problems()
  -- A replica that lags gets a second look a second later: lag that grew
  -- means its applier does not keep up.
  local lagging = false
  for _, n in ipairs(topo:nodes()) do
    if n.lag and n.lag >= 1 and not n.delay then lagging = true end
  end
  if lagging then
    rep.sleep("1s")
    for _, p in ipairs(rep.discover(o.from, { lag_threshold = o.lag_threshold }):falling_behind(topo)) do
      table.insert(problems, p)
    end
  end
  local errors, warnings = 0, 0
  for _, p in ipairs(problems) do
    print(string.format("%-7s %-6s %-20s %s", p.severity, p.name or "-", p.kind, p.message))
    if p.severity == "error" then errors = errors + 1 else warnings = warnings + 1 end
  end
  if errors > 0 then
    error(string.format("check: %d error(s), %d warning(s)", errors, warnings), 0)
  end
  local primary = topo:primary()
  print(string.format("check: ok: primary %s, %d replica(s), %d warning(s)",
    primary:name(), #topo:replicas(), warnings))
  return topo
end

return cli.main(M, "check", ...)
