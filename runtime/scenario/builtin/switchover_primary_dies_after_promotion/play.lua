-- A switchover whose old primary is killed just after the promotion.
local rep = require "replicant"
require("replicant.switchover").run {
  to = "db2",
  after_promote = function()
    rep.shell("kill -9 " .. os.getenv("DB1_PID"))
    rep.sleep("300ms")
  end,
}
