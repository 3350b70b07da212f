dofile("scenarios/failover_wrong_password/setup.lua")
