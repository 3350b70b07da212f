require("replicant.test").topology_is("db3", { "db1", "db2" })
for _, n in ipairs { "db1", "db2", "db3" } do require("replicant.test").rows(n, "s.t", 13) end
