-- t.pause(db, d) stops a server for d: a query waits, then answers. A
-- pause without a duration lasts until t.resume; the end of a test
-- resumes what is still paused (TestLuaTestFileUndoesItsFaults).
local t = require "replicant.test"
t.topology { servers = 2 }
local db1 = rep.server("db1")
t.pause("db1", "700ms")
local t0 = rep.now()
t.eq(db1:variable("server_id") > 0, true, "db1 answers after its pause")
local waited = rep.now() - t0
if waited < 0.5 then error(string.format("db1 answered %.3f s into a 700 ms pause", waited)) end
t.pause("db1")
rep.sleep("200ms")
t.resume("db1")
t.eq(db1:variable("read_only"), 0, "db1's read_only after resume")
