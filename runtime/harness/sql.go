package harness

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// The harness's own rows (Errant, BreakSQL) live in one table, made on
// the source of the replica and replicated, so that every server has it
// and an errant transaction replays anywhere it is sent.
const (
	harnessSchema = "replicant_harness"
	harnessTable  = harnessSchema + ".writes"
)

// errDupKey is ER_DUP_ENTRY, what the applier stops with on a row it
// already has.
const errDupKey = 1062

// Lag delays the replica's applier by seconds (CHANGE MASTER TO
// MASTER_DELAY); 0 removes the delay. Undo puts back the delay it had
// before the first Lag.
func (f *Injector) Lag(ctx context.Context, name string, seconds int) error {
	if seconds < 0 {
		return fmt.Errorf("lag %s: %d seconds: want 0 or more", name, seconds)
	}
	db, st, err := f.replica(ctx, name)
	if err != nil {
		return fmt.Errorf("lag %s: %w", name, err)
	}
	defer db.Close()
	old := st.SQLDelay
	if err := setDelay(ctx, db, st, time.Duration(seconds)*time.Second); err != nil {
		return fmt.Errorf("lag %s: %w", name, err)
	}
	f.push(undoEntry{key: "lag " + name, fault: "lag", server: name, live: true, undo: func(ctx context.Context) error {
		db, st, err := f.replica(ctx, name)
		if err != nil {
			return err
		}
		defer db.Close()
		return setDelay(ctx, db, st, time.Duration(old)*time.Second)
	}})
	return nil
}

// setDelay changes MASTER_DELAY. MariaDB 10.11 refuses it while either
// replication thread runs ("Error 1198: This operation cannot be
// performed as you have a running slave", measured with only the applier
// stopped; docs/MARIADB-FACTS.md), so both stop, and those that ran start
// again, on every path. By GTID the receiver then fetches again from
// gtid_slave_pos what the discarded relay log held. The heartbeat period
// is given again: a CHANGE MASTER without it resets it on MariaDB 10.11.
func setDelay(ctx context.Context, db *server.Server, st *flavor.ReplicaStatus, d time.Duration) error {
	return withThreadsStopped(ctx, db, st, func() error {
		return db.ChangeSource(ctx, flavor.ChangeSourceOptions{Delay: &d, Heartbeat: st.HeartbeatPeriod})
	})
}

// withThreadsStopped runs change with both replication threads stopped,
// and then starts again the threads that ran before (as st says), even
// when change failed: a fault must not leave a replica stopped that it
// did not mean to stop. It waits until a receiver that was connected is
// connected again.
func withThreadsStopped(ctx context.Context, db *server.Server, st *flavor.ReplicaStatus, change func() error) error {
	ioRan := st.IOThread == "Yes" || st.IOThread == "Connecting"
	if err := db.StopReplica(ctx, flavor.BothThreads); err != nil {
		return err
	}
	err := change()
	threads := flavor.BothThreads
	switch {
	case !ioRan && !st.SQLRunning:
		return err
	case ioRan && !st.SQLRunning:
		threads = flavor.IOThread
	case st.SQLRunning && !ioRan:
		threads = flavor.SQLThread
	}
	if serr := db.StartReplica(ctx, threads); serr != nil {
		return errors.Join(err, serr)
	}
	if err != nil || !st.IORunning || !st.SQLRunning {
		return err
	}
	// A receiver that was connected is connected again before the fault
	// counts as made: a caller's next step must not see "Connecting".
	wctx, cancel := bounded(ctx)
	defer cancel()
	if ok, err := db.WaitReplicating(wctx, waitTimeout); err != nil || !ok {
		return fmt.Errorf("receiver not connected again: %s", errOr(err, "timed out"))
	}
	return nil
}

// replica connects to a server that is a replica and reads its status.
// The caller closes db.
func (f *Injector) replica(ctx context.Context, name string) (*server.Server, *flavor.ReplicaStatus, error) {
	in, err := f.instance(name)
	if err != nil {
		return nil, nil, err
	}
	db, err := f.connect(in)
	if err != nil {
		return nil, nil, err
	}
	st, err := db.ReplicaStatus(ctx)
	if err == nil && st == nil {
		err = fmt.Errorf("%s is not a replica", in)
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, st, nil
}

// sourceOf is the sandbox server a replica status names as its source,
// at its real address or behind one of the injector's proxies.
func (f *Injector) sourceOf(st *flavor.ReplicaStatus) (sandbox.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, in := range f.sb.Instances {
		p := f.proxies[in.Name]
		if st.SourceHost == "127.0.0.1" &&
			(st.SourcePort == in.Port || (p != nil && (st.SourcePort == p.repl.Port() || st.SourcePort == p.tool.Port()))) {
			in.Pid = f.pids[in.Name]
			return in, nil
		}
	}
	return sandbox.Instance{}, fmt.Errorf("its source %s:%d is no server of the sandbox", st.SourceHost, st.SourcePort)
}

// Errant makes an errant transaction on a replica: a row written with
// binary logging on, as the tool's privileged account can despite
// read_only. It returns the GTID of that transaction, which only this
// server has. The row stays after Undo.
func (f *Injector) Errant(ctx context.Context, name string) (string, error) {
	db, st, err := f.replica(ctx, name)
	if err != nil {
		return "", fmt.Errorf("errant %s: %w", name, err)
	}
	defer db.Close()
	if err := f.ensureTable(ctx, db, st); err != nil {
		return "", fmt.Errorf("errant %s: %w", name, err)
	}
	fl, err := db.Flavor(ctx)
	if err != nil {
		return "", fmt.Errorf("errant %s: %w", name, err)
	}
	q, err := fl.LastGTIDQuery()
	if err != nil {
		return "", fmt.Errorf("errant %s: %w", name, err)
	}
	var gtid string
	// One session for the write and @@last_gtid (WithSession pins it);
	// sql_log_bin held on, whatever the account's default.
	err = db.WithSession(ctx, []server.SessionVar{{Name: "sql_log_bin", Value: 1}}, func() error {
		if _, err := db.Exec(ctx, "INSERT INTO "+harnessTable+" (id, fault, server) VALUES (?, 'errant', ?)", newKey(), name); err != nil {
			return err
		}
		row, err := db.QueryRow(ctx, q)
		if err != nil {
			return err
		}
		gtid = fmt.Sprint(row["gtid"])
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("errant %s: %w", name, err)
	}
	if gtid == "" {
		return "", fmt.Errorf("errant %s: the write left no GTID (is the binary log on?)", name)
	}
	return gtid, nil
}

// BreakSQL stops the replica's applier on a duplicate key: a row written
// on the replica with sql_log_bin=0, then the same key on its source. It
// returns once the applier has stopped with error 1062. The rows stay
// after Undo; mending the replica is the playbook's business.
func (f *Injector) BreakSQL(ctx context.Context, name string) error {
	db, st, err := f.replica(ctx, name)
	if err != nil {
		return fmt.Errorf("break_sql %s: %w", name, err)
	}
	defer db.Close()
	if !st.SQLRunning {
		return fmt.Errorf("break_sql %s: its applier is not running", name)
	}
	if err := f.ensureTable(ctx, db, st); err != nil {
		return fmt.Errorf("break_sql %s: %w", name, err)
	}
	src, err := f.sourceOf(st)
	if err != nil {
		return fmt.Errorf("break_sql %s: %w", name, err)
	}
	key := newKey()
	insert := "INSERT INTO " + harnessTable + " (id, fault, server) VALUES (?, 'break_sql', ?)"
	err = db.WithSession(ctx, []server.SessionVar{{Name: "sql_log_bin", Value: 0}}, func() error {
		_, err := db.Exec(ctx, insert, key, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("break_sql %s: the replica's row: %w", name, err)
	}
	sdb, err := f.connect(src)
	if err != nil {
		return fmt.Errorf("break_sql %s: %w", name, err)
	}
	defer sdb.Close()
	if _, err := sdb.Exec(ctx, insert, key, src.Name); err != nil {
		return fmt.Errorf("break_sql %s: the row on its source %s: %w", name, src.Name, err)
	}
	wctx, cancel := bounded(ctx)
	defer cancel()
	for {
		st, err := db.ReplicaStatus(wctx)
		switch {
		case err != nil:
			return fmt.Errorf("break_sql %s: waiting for the applier to stop: %w", name, err)
		case st != nil && !st.SQLRunning && st.LastSQLErrno == errDupKey:
			return nil
		case st != nil && !st.SQLRunning:
			return fmt.Errorf("break_sql %s: the applier stopped with error %d, not %d: %s", name, st.LastSQLErrno, errDupKey, st.LastSQLError)
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("break_sql %s: the applier still runs: %w", name, wctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// newKey is a key no earlier harness row has: the harness never writes
// two rows in the same nanosecond of one process.
func newKey() int64 { return time.Now().UnixNano() }

// ensureTable makes the harness table, when the replica lacks it, on the
// replica's source, and waits until the replica has applied it.
func (f *Injector) ensureTable(ctx context.Context, db *server.Server, st *flavor.ReplicaStatus) error {
	exists := func(s *server.Server) (bool, error) {
		row, err := s.QueryRow(ctx, "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'writes'", harnessSchema)
		if err != nil {
			return false, err
		}
		n, _ := strconv.Atoi(fmt.Sprint(row["n"]))
		return n > 0, nil
	}
	if ok, err := exists(db); err != nil || ok {
		return err
	}
	src, err := f.sourceOf(st)
	if err != nil {
		return fmt.Errorf("making %s: %w", harnessTable, err)
	}
	sdb, err := f.connect(src)
	if err != nil {
		return err
	}
	defer sdb.Close()
	for _, stmt := range []string{"CREATE DATABASE IF NOT EXISTS " + harnessSchema,
		"CREATE TABLE IF NOT EXISTS " + harnessTable + " (id BIGINT PRIMARY KEY, fault VARCHAR(16) NOT NULL, server VARCHAR(64) NOT NULL)"} {
		if _, err := sdb.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("making %s on %s: %w", harnessTable, src.Name, err)
		}
	}
	target, err := sdb.GTIDExecuted(ctx)
	if err != nil {
		return err
	}
	ok, err := db.WaitForGTID(ctx, target, waitTimeout)
	if err == nil && !ok {
		err = errors.New("timed out")
	}
	if err != nil {
		return fmt.Errorf("waiting for %s to arrive from %s: %w", harnessTable, src.Name, err)
	}
	return nil
}

// MaxConnections sets the server's max_connections (SET GLOBAL); Undo
// puts back the value it had before the first call. The connection that
// read that value is kept for the undo: with a low limit a new one may
// be refused.
func (f *Injector) MaxConnections(ctx context.Context, name string, n int) error {
	if n < 1 {
		return fmt.Errorf("max_connections %s: %d: want at least 1", name, n)
	}
	in, err := f.instance(name)
	if err != nil {
		return fmt.Errorf("max_connections %s: %w", name, err)
	}
	key := "max_connections " + name
	if f.has(key) {
		db, err := f.connect(in)
		if err != nil {
			return fmt.Errorf("max_connections %s: %w", name, err)
		}
		defer db.Close()
		if err := db.SetVariable(ctx, "max_connections", n, false); err != nil {
			return fmt.Errorf("max_connections %s: %w", name, err)
		}
		return nil
	}
	db, err := f.connect(in)
	if err != nil {
		return fmt.Errorf("max_connections %s: %w", name, err)
	}
	old, err := db.Variable(ctx, "max_connections")
	if err == nil {
		err = db.SetVariable(ctx, "max_connections", n, false)
	}
	if err != nil {
		db.Close()
		return fmt.Errorf("max_connections %s: %w", name, err)
	}
	f.push(undoEntry{key: key, fault: "max_connections", server: name, live: true, undo: func(ctx context.Context) error {
		defer db.Close()
		return db.SetVariable(ctx, "max_connections", old, false)
	}, discard: func() { db.Close() }})
	return nil
}
