-- A switchover whose new primary (db2) dies halfway through the
-- repointing, and the run is interrupted there: db4 already follows db2
-- and got a write of its, db3 still follows the fenced db1. No server
-- takes writes, and unfencing db1 would fork: db4 has the most.
local rep = require "replicant"
local db2, db4 = rep.server("db2"), rep.server("db4")
require("replicant.switchover").run {
  to = "db2",
  on_step = function(name)
    if name:match("^repoint") then
      db4:stop_replica()
      db4:change_source(db2)
      db4:start_replica()
      db2:exec("INSERT INTO s.t (v) VALUES (99)")
      assert(db4:wait_for(db2:gtid_executed(), { timeout = 10 }), "db4 did not get db2's write")
      rep.shell("kill -9 " .. os.getenv("DB2_PID"))
      rep.sleep("300ms")
      error("interrupted while repointing", 0)
    end
  end,
}
