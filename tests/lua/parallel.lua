-- rep.parallel: one result per item, in order, and the calls really run
-- at once.
local rep = require "replicant"
local check = require "check"

local servers = rep.servers()
local results, all = rep.parallel(servers, function(db)
  return db:query_row("SELECT @@server_id AS id").id, db:name()
end)
check.eq(all, true, "all ok")
for i, r in ipairs(results) do
  check.eq(r.value, i, "server_id of item " .. i)
  check.eq(r.values[2], servers[i]:name(), "second value of item " .. i)
end

-- Concurrency without timing: item 1 waits for a lock that only item 2
-- releases. Run one after the other, item 1 would give up after 5 s.
local db1 = rep.server("db1")
local holder = rep.server("db1", { name = "holder" })
local waiter = rep.server("db1", { name = "waiter" })
check.eq(holder:query_row("SELECT GET_LOCK('par', 0) AS got").got, 1, "holder took the lock")
results = rep.parallel({ 1, 2 }, function(i)
  if i == 1 then
    return waiter:query_row("SELECT GET_LOCK('par', 5) AS got").got
  end
  rep.sleep("200ms")
  return holder:query_row("SELECT RELEASE_LOCK('par') AS released").released
end)
check.eq(results[2].value, 1, "item 2 released the lock")
check.eq(results[1].value, 1, "item 1 got the lock while item 2 ran")

-- A failing call ends its item with an error object naming the line.
results, all = rep.parallel({ db1, rep.server("db2") }, function(db)
  if db == db1 then
    db:sql("SELEC 1")
  end
  return "fine"
end)
check.eq(all, false, "not all ok")
check.eq(results[1].ok, false, "item 1 failed")
check.eq(results[1].err.code, 1064, "item 1 error code")
check.truthy(results[1].err.where:match("parallel%.lua:%d+$"), "error where: " .. results[1].err.where)
check.eq(results[2].value, "fine", "item 2 fine")
print("parallel ok")
