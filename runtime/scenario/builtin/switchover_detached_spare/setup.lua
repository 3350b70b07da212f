-- db4 is a read-only spare that replicates from no one.
dofile("../switchover_happy/setup.lua")
local db4 = replicant.server("db4")
db4:stop_replica()
db4:reset_replica { all = true }
