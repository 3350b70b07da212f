module github.com/replicant-lua/replicant-lua

go 1.26
