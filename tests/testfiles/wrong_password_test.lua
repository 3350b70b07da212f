-- t.wrong_password(db): the runs' deployment gives db a wrong password:
-- a run that needs db fails naming it; the test's own checks keep the
-- password they started with.
local t = require "replicant.test"
t.topology { servers = 2 }
t.wrong_password("db2")
local r = t.run { "-e", "print(rep.server('db2'):variable('server_id'))" }
if r.exit == 0 then error("a run with db2's wrong password succeeded:\n" .. r.stdout) end
if not r.stderr:find("db2", 1, true) or not r.stderr:lower():find("access denied", 1, true) then
  error("the run's error does not say db2 refused the login:\n" .. r.stderr)
end
t.read_only("db2")
