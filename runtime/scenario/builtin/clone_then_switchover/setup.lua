dofile("../clone_physical/setup.lua")
