-- A switchover whose new primary (db2) is killed just after its promotion:
-- db1 is fenced, nothing takes writes.
local rep = require "replicant"
require("replicant.switchover").run {
  to = "db2",
  after_promote = function()
    rep.shell("kill -9 " .. os.getenv("DB2_PID"))
    rep.sleep("300ms")
  end,
}
