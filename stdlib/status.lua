-- status: draw the replication tree (who replicates from whom, read-only or
-- writable, lag, replication threads) and the problems found.
--
--   replicant-lua -d deployment.lua run status [-- --from db2] [--lag-threshold 30s]
--
-- Discovery starts from every server of the deployment, or from the one
-- given with --from (a name or host:port), and walks up to sources and
-- down to replicas. It never fails on a problem: see `run check`.
local rep = require "replicant"
local cli = require "replicant.cli"

local M = {}

M.needs_deployment = { unless = "from" }
M.options = {
  { "from", "server", "discover from this server (default: every deployment server)" },
  { "lag_threshold", "duration", "mark replicas lagging more (default: discovery's)" },
}

-- M.run(opts) prints the tree and returns the topology object.
function M.run(opts)
  local o = cli.check(opts, M)
  local topo = rep.discover(o.from, { lag_threshold = o.lag_threshold })
  topo:print()
  return topo
end

return cli.main(M, "status", ...)
