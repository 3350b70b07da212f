require("replicant.test").topology_is("db2", { "db1", "db3" })
