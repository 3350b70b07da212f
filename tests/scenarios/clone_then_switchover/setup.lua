dofile("scenarios/clone_physical/setup.lua")
