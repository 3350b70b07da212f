dofile("../switchover_skip_broken_bystander/setup.lua")
