-- With semi-synchronous replication, a primary killed under a writer
-- loses no acknowledged write across the failover.
local t = require "replicant.test"
t.topology { servers = 3, semi_sync = true }
t.eq(rep.server("db1"):semi_sync().clients, 2, "db1's semi-sync clients")
local w = t.writer { table = "app.ledger" }
while w:acked() < 200 do rep.sleep("20ms") end
t.kill("db1")
local r = t.run { "run", "failover" }
t.eq(r.exit, 0, "the failover's exit code\n" .. r.stderr)
local report = w:stop()
if #report.lost > 0 then error(string.format("%d acknowledged writes lost: %s", #report.lost, table.concat(report.lost, ", "))) end
t.eq(#report.duplicated, 0, "rows written twice")
print(string.format("%d writes acknowledged, %d failed, none lost; the longest gap %.3f s", report.acked, report.failed,
  report.max_gap))
