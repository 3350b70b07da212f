dofile("../failover_wrong_password/setup.lua")
