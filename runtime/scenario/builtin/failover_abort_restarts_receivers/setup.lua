dofile("../failover_kill9/setup.lua")
