dofile("scenarios/failover_kill9/setup.lua")
