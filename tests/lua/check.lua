-- check: assertions for the playbook tests, with messages that show both
-- sides. The playbooks run through the real binary; a failed check raises,
-- so the run exits 1 and the Go test prints the message. (gopher-lua counts
-- error levels one further than Lua 5.1: level 3 blames the caller here.)
local M = {}

function M.eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %s, want %s", what, tostring(got), tostring(want)), 3)
  end
end

function M.truthy(v, what)
  if not v then
    error(what .. ": got " .. tostring(v), 3)
  end
end

-- M.raises(kind, fn, ...) calls fn and checks that it raised an error
-- object of that kind; it returns the error.
function M.raises(kind, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then
    error("expected a " .. kind .. " error, got success", 3)
  end
  if type(err) ~= "table" or err.kind ~= kind then
    error("expected a " .. kind .. " error, got " .. tostring(err), 3)
  end
  return err
end

-- M.count(db, table) is the number of rows in a table.
function M.count(db, tbl)
  return db:query_row("SELECT COUNT(*) AS n FROM " .. tbl).n
end

return M
