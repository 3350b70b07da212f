require("expect").topology("db2", { "db1", "db3" })
