-- db3 applies an hour late on purpose.
dofile("scenarios/switchover_delayed_candidate/setup.lua")
