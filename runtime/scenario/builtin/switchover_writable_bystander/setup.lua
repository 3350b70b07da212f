dofile("../switchover_happy/setup.lua")
replicant.server("db3"):set_read_only(false)
