dofile("../switchover_errant_strict_off/setup.lua")
