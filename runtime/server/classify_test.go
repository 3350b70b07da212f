package server

import (
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// The allowlist decides what a dry run executes: every hostile form here
// must be refused (recorded, not run), the ordinary reads allowed.
func TestReadOnly(t *testing.T) {
	cases := []struct {
		query string
		ok    bool
	}{
		// reads
		{"SELECT 1", true},
		{"select @@GLOBAL.read_only", true},
		{"  (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?)", true},
		{"((select 1)) union (select 2);", true},
		{"SELECT MASTER_GTID_WAIT(?, ?)", true},
		{"SELECT CONNECTION_ID(), @@GLOBAL.version", true},
		{"WITH RECURSIVE c AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM c WHERE n < 3) SELECT * FROM c", true},
		{"SELECT 'INTO OUTFILE', `update` FROM t -- FOR UPDATE\n", true},
		{"SELECT REPLACE(a, 'x', 'y'), INSERT(a, 1, 2, 'z') FROM t", true},
		{"SHOW SLAVE STATUS", true},
		{"show all slaves status", true},
		{"SHOW GLOBAL VARIABLES LIKE 'read_only'", true},
		{"DESCRIBE mysql.user", true},
		{"EXPLAIN SELECT * FROM t", true},
		{"HELP 'SELECT'", true},
		{"DO SLEEP(1)", true},
		{"/* a comment */ SELECT 1", true},
		{"SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1", true},
		{"# why\nSELECT 1", true},
		// session settings
		{"SET SESSION lock_wait_timeout = ?", true},
		{"SET sql_log_bin = 0", true},
		{"set @@session.sql_mode = ''", true},
		{"SET @@sql_mode = 'ANSI'", true},
		{"SET LOCAL autocommit = 1", true},
		{"SET @x = 1, @y := (SELECT COUNT(*) FROM t)", true},
		{"SET @'x y' = 2", true},
		{"SET NAMES utf8mb4 COLLATE utf8mb4_bin", true},
		{"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", true},
		{flavor.SQLModeAllowBackslashEscapes, true},

		// global and persistent settings, however written
		{"SET GLOBAL read_only = 1", false},
		{"SET @@GLOBAL.read_only = 1", false},
		{"set @@global.read_only=1", false},
		{"SET PERSIST max_connections = 10", false},
		{"SET @@PERSIST.max_connections = 10", false},
		{"SET PERSIST_ONLY max_connections = 10", false},
		{"SET @x = 1, GLOBAL read_only = 1", false},
		{"SET @x=1, @@global.y=2", false},
		{"SET SESSION sql_mode = '', GLOBAL read_only = 1", false},
		{"/* harmless */ SET GLOBAL read_only = 1", false},
		{"-- note\nSET GLOBAL read_only = 1", false},
		{"SET read_only = 1", false}, // not a harmless session variable (and global only)
		{"SET gtid_slave_pos = ''", false},
		{"SET @@s1.sql_slave_skip_counter = 1", false},
		{"SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE", false},
		{"SET PASSWORD = PASSWORD('x')", false},
		{"SET ROLE admin", false},
		{"SET STATEMENT max_statement_time = 1 FOR DELETE FROM t", false},
		{"SET @x = (SELECT GET_LOCK('a', 0))", false},
		{"SET @x = 1; SET GLOBAL read_only = 1", false},
		// writes and locks hidden in reads
		{"SELECT * FROM t INTO OUTFILE '/tmp/x'", false},
		{"SELECT 1 INTO @x", false},
		{"SELECT * FROM t FOR UPDATE", false},
		{"select * from t for share", false},
		{"SELECT * FROM t LOCK IN SHARE MODE", false},
		{"WITH x AS (SELECT id FROM t) DELETE FROM t WHERE id IN (SELECT id FROM x)", false},
		{"with x as (select 1) update t set a = 1", false},
		{"SELECT GET_LOCK('x', 10)", false},
		{"SELECT RELEASE_ALL_LOCKS()", false},
		{"SELECT NEXT VALUE FOR s", false},
		{"SELECT NEXTVAL(s)", false},
		{"SELECT mydb.purge_all()", false},
		{"SELECT `f`(1)", false},
		{"SELECT my_udf(1)", false},
		{"SELECT * FROM t PROCEDURE ANALYSE()", false},
		{"EXPLAIN ANALYZE SELECT * FROM t", false},
		{"ANALYZE SELECT * FROM t", false},
		{"DO RELEASE_LOCK('x')", false},
		{"SELECT 1; DROP TABLE t", false},
		// executable comments run their contents
		{"/*!50000 SET GLOBAL read_only = 1 */", false},
		{"SELECT 1 /*!, GET_LOCK('x', 1) */", false},
		{"/*M!100100 SET GLOBAL read_only = 1 */ SELECT 1", false},
		{"/* unterminated SELECT 1", false},
		// everything else
		{"CALL p()", false},
		{"LOCK TABLES t WRITE", false},
		{"FLUSH TABLES WITH READ LOCK", false},
		{"flush logs", false},
		{"INSERT INTO t VALUES (1)", false},
		{"(UPDATE t SET a = 1)", false},
		{"DELETE FROM t", false},
		{"STOP SLAVE", false},
		{"START REPLICA", false},
		{"CHANGE MASTER TO MASTER_HOST = 'x'", false},
		{"KILL 17", false},
		{"XA RECOVER", false},
		{"HANDLER t OPEN", false},
		{"BEGIN", false},
		{"", false},
		{";", false},
		// a backslash read both ways: harmless only if harmless under
		// NO_BACKSLASH_ESCAPES too
		{`SELECT 'a\\b', 'c'`, true},
		{`SELECT 'a\'b'`, false}, // unterminated without backslash escapes
		{`SELECT 'a\' INTO OUTFILE '/tmp/x' -- '`, false},
	}
	for _, c := range cases {
		ok, why := ReadOnly(c.query)
		if ok != c.ok {
			t.Errorf("ReadOnly(%q) = %v (%s); want %v", c.query, ok, why, c.ok)
		}
		if !ok && why == "" {
			t.Errorf("ReadOnly(%q) refused without a reason", c.query)
		}
	}
}

func FuzzReadOnly(f *testing.F) {
	f.Add("SELECT 1")
	f.Add("SET @x = 1, GLOBAL y = 2")
	f.Add("/*!50000 SELECT */")
	f.Fuzz(func(t *testing.T, q string) {
		ReadOnly(q) // must not panic
	})
}
