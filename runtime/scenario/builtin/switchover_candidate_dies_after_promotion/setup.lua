dofile("../switchover_primary_dies_after_promotion/setup.lua")
