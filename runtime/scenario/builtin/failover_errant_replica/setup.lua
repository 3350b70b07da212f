-- db2 carries a write of its own, buried under the primary's (strict mode
-- off); db3 is clean. Both have everything from db1.
dofile("../switchover_errant_strict_off/setup.lua")
assert(replicant.server("db3"):wait_for(replicant.server("db1"):gtid_executed(), { timeout = "10s" }))
