-- t.cut(db, { from = "tool" }): the tool's path to db1 goes silent while
-- its replicas keep replicating; { from = "replicas" }: the replicas'
-- path goes silent while the tool still reaches it. t.heal ends both.
local t = require "replicant.test"
t.topology { servers = 3, proxies = true }
local db1, db2 = rep.server("db1"), rep.server("db2")
rep.deadlines { read = "1s" }
db1:exec("CREATE DATABASE IF NOT EXISTS app")
db1:exec("CREATE TABLE app.seen (id INT PRIMARY KEY)")
local w = t.writer { table = "app.w" } -- the application reaches db1 directly

local function rows(db) return db:query_row("SELECT COUNT(*) AS n FROM app.w").n end
local function grows(db, what)
  local first = rows(db)
  for _ = 1, 100 do
    if rows(db) > first then return end
    rep.sleep("30ms")
  end
  error(what .. ": no new row on " .. db:name() .. " in 3 s")
end

t.cut("db1", { from = "tool" })
t.eq(pcall(db1.variable, db1, "server_id"), false, "a query on db1 through a cut path succeeds")
grows(db2, "the tool's path cut") -- replication goes on
t.heal("db1")
t.eq(db1:variable("read_only"), 0, "db1 once healed")

t.cut("db1", { from = "replicas" })
rep.sleep("300ms")
local frozen = rows(db2)
rep.sleep("1s")
t.eq(rows(db2), frozen, "rows on db2 while its source's path is cut")
t.eq(db1:variable("read_only"), 0, "db1 to the tool while the replicas' path is cut")
t.heal("db1")
grows(db2, "healed")
local report = w:stop()
t.eq(#report.lost, 0, "acknowledged writes lost")
t.rows_equal("app.w")
