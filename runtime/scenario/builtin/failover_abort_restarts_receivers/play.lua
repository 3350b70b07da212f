-- A hook refuses just before the promotion: nothing is promoted, and the
-- receivers the drain stopped run again (they go back to reconnecting).
require("replicant.failover").run {
  before_promote = function() error("operator said no", 0) end,
}
