-- db2 is the primary for a while (its own server_id enters everyone's
-- history), then db3 is rebuilt from db1's physical image and promoted.
-- The clone's binary log starts after that history (RESET MASTER, then
-- gtid_slave_pos from the image): check must still be clean, not call
-- db2's old transactions errant.
local rep = require "replicant"
require("replicant.switchover").run { to = "db2" }
rep.server("db2"):exec("INSERT INTO s.t (v) VALUES (11)")
require("replicant.clone").run { from = "db1", to = "db3", method = "physical" }
rep.server("db2"):exec("INSERT INTO s.t (v) VALUES (12)")
require("replicant.switchover").run { to = "db3" }
rep.server("db3"):exec("INSERT INTO s.t (v) VALUES (13)")
require("replicant.check").run {}
