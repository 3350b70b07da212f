package server

import "testing"

func TestChangesServer(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                              false,
		"  select @@version":                    false,
		"SHOW SLAVE STATUS":                     false,
		"(SELECT 1) UNION (SELECT 2)":           false,
		"SELECT * FROM t INTO OUTFILE '/tmp/x'": true,
		"DESCRIBE t":                            false,
		"EXPLAIN SELECT 1":                      false,
		"SET SESSION sql_mode = ''":             false,
		"SET @x = 1":                            false,
		"SET NAMES utf8mb4":                     false,
		"SET GLOBAL read_only = ON":             true,
		"SET sql_log_bin = 0":                   true, // unqualified SET may be global-only: plan it
		"STOP SLAVE":                            true,
		"CHANGE MASTER TO MASTER_HOST='h'":      true,
		"INSERT INTO t VALUES (1)":              true,
		"FLUSH TABLES WITH READ LOCK":           true,
		"KILL QUERY 5":                          true,
	} {
		if got := changesServer(q); got != want {
			t.Errorf("changesServer(%q) = %v, want %v", q, got, want)
		}
	}
}
