package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// The replication faults on one sandbox: a delayed replica (undone), an
// errant transaction and a broken applier (which Undo leaves). The
// errant write comes first, so that it makes the harness's table itself;
// db3 is not looked at after it (with gtid_strict_mode its applier stops
// at the primary's next GTID of the same sequence number).
func TestReplicationFaults(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	ctx := testCtx(t)
	f := New(sb)
	defer f.Close()
	db1, db2, db3 := direct(t, sb, "db1"), direct(t, sb, "db2"), direct(t, sb, "db3")
	heartbeat := status(t, db2).HeartbeatPeriod

	t.Run("lag", func(t *testing.T) {
		if err := f.Lag(ctx, "db2", 7); err != nil {
			t.Fatal(err)
		}
		st := status(t, db2)
		if st.SQLDelay != 7 || !st.IORunning || !st.SQLRunning || st.HeartbeatPeriod != heartbeat {
			t.Errorf("after Lag 7: SQL_Delay %d, io %v, sql %v, heartbeat %s (was %s)", st.SQLDelay, st.IORunning, st.SQLRunning, st.HeartbeatPeriod, heartbeat)
		}
		set := write(t, db1)
		if arrives(t, db2, set, time.Second) {
			t.Errorf("a delayed replica applied a write at once")
		}
		if !arrives(t, db3, set, 10*time.Second) {
			t.Errorf("db3, not delayed, did not apply the write")
		}
		if err := f.Undo(ctx); err != nil {
			t.Fatal(err)
		}
		st = status(t, db2)
		if st.SQLDelay != 0 || !st.SQLRunning || st.HeartbeatPeriod != heartbeat {
			t.Errorf("after Undo: SQL_Delay %d, sql %v, heartbeat %s", st.SQLDelay, st.SQLRunning, st.HeartbeatPeriod)
		}
		if !arrives(t, db2, set, 10*time.Second) {
			t.Errorf("after Undo db2 still holds back the write")
		}
	})

	t.Run("errant", func(t *testing.T) {
		g, err := f.Errant(ctx, "db3")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(g, "0-3-") {
			t.Errorf("errant GTID %q, want one of db3's own server_id 3", g)
		}
		if state := variable(t, db3, "gtid_binlog_state"); !strings.Contains(state, g) {
			t.Errorf("db3's gtid_binlog_state %q lacks %s", state, g)
		}
		if state := variable(t, db1, "gtid_binlog_state"); strings.Contains(state, "0-3-") {
			t.Errorf("the primary's gtid_binlog_state %q has db3's errant GTID", state)
		}
		if err := f.Undo(ctx); err != nil {
			t.Fatal(err)
		}
		if state := variable(t, db3, "gtid_binlog_state"); !strings.Contains(state, g) {
			t.Errorf("after Undo db3's gtid_binlog_state %q lacks %s", state, g)
		}
		if _, err := f.Errant(ctx, "db1"); err == nil || !strings.HasPrefix(err.Error(), "errant db1: ") {
			t.Errorf("an errant write on the primary: %v", err)
		}
	})
	t.Run("break_sql", func(t *testing.T) {
		if err := f.BreakSQL(ctx, "db2"); err != nil {
			t.Fatal(err)
		}
		st := status(t, db2)
		if st.SQLRunning || st.LastSQLErrno != 1062 || !st.IORunning {
			t.Errorf("after BreakSQL: sql %v, Last_SQL_Errno %d (%s), io %v", st.SQLRunning, st.LastSQLErrno, st.LastSQLError, st.IORunning)
		}
		if err := f.BreakSQL(ctx, "db2"); err == nil || !strings.HasPrefix(err.Error(), "break_sql db2: ") {
			t.Errorf("breaking a stopped applier: %v", err)
		}
		if err := f.Undo(ctx); err != nil {
			t.Fatal(err)
		}
		if st := status(t, db2); st.SQLRunning || st.LastSQLErrno != 1062 {
			t.Errorf("Undo mended the broken applier: sql %v, errno %d", st.SQLRunning, st.LastSQLErrno)
		}
	})

}
