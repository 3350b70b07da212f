-- db3 applies an hour late on purpose.
dofile("../switchover_delayed_candidate/setup.lua")
