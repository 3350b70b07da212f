-- db:fence() kills a hung server through its machine; in a dry run it
-- only plans the kill.
local t = require "replicant.test"
t.topology { servers = 2 }
t.pause("db2")
local plan = t.run { "--dry-run", "-e", "rep.server('db2'):fence()" }
t.eq(plan.exit, 0, "the dry run's exit code\n" .. plan.stderr)
if not (plan.stdout .. plan.stderr):find("fence: kill", 1, true) then
  error("the dry run's plan does not show the fence:\n" .. plan.stdout .. plan.stderr)
end
if t.pid("db2") == 0 then error("a dry-run fence killed db2") end
local r = t.run { "-e", "rep.server('db2'):fence()" }
t.eq(r.exit, 0, "the fence's exit code\n" .. r.stderr)
t.eq(t.pid("db2"), 0, "db2's pid once fenced")
