-- A switchover whose new primary (db2) dies after db3 and db4 followed
-- it and took a write of its, just before the old primary (db1) was to
-- follow: the tree's primary is the dead db2, and db1, fenced, replicates
-- from no one, like a spare. Only the report can say db1 is the fenced
-- primary, so it names it for recover (--fenced db1).
local rep = require "replicant"
local db2, db3, db4 = rep.server("db2"), rep.server("db3"), rep.server("db4")
require("replicant.switchover").run {
  to = "db2",
  on_step = function(name)
    if name:match("^make db1 a replica") then
      db2:exec("INSERT INTO s.t (v) VALUES (99)")
      assert(db3:wait_for(db2:gtid_executed(), { timeout = 10 }), "db3 did not get db2's write")
      assert(db4:wait_for(db2:gtid_executed(), { timeout = 10 }), "db4 did not get db2's write")
      rep.shell("kill -9 " .. os.getenv("DB2_PID"))
      rep.sleep("300ms")
      error("interrupted before db1 followed", 0)
    end
  end,
}
