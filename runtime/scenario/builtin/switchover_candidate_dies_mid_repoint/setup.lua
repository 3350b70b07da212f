local db1 = replicant.server("db1")
db1:exec("CREATE DATABASE s")
db1:exec("CREATE TABLE s.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
for i = 1, 10 do db1:exec("INSERT INTO s.t (v) VALUES (?)", i) end
