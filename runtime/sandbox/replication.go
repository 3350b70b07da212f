package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	gosql "github.com/go-sql-driver/mysql"
)

// changeMasterSQL points a MariaDB replica at the primary with GTID.
// slave_pos: every copy starts from the same template with no binary log,
// so an empty gtid_slave_pos means "from the primary's first event".
// MASTER_CONNECT_RETRY=1 (default 60) so that a replica whose primary was
// restarted by a test reconnects within a second.
const changeMasterSQL = "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, " +
	"MASTER_USER='%s', MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1"

// wire makes every replica replicate from the primary and starts it.
func (s *Sandbox) wire(ctx context.Context) error {
	primary := s.Primary()
	pw, err := s.ReplUser.Password()
	if err != nil {
		return err
	}
	for _, r := range s.Replicas() {
		db := rootDB(r)
		q := fmt.Sprintf(changeMasterSQL, primary.Port, s.ReplUser.Name, sqlEscape(pw))
		_, err := db.ExecContext(ctx, q)
		if err == nil {
			_, err = db.ExecContext(ctx, "START SLAVE")
		}
		db.Close()
		if err != nil {
			return fmt.Errorf("%s: replicate from %s: %w", r, primary, redactErr(err, pw))
		}
	}
	return nil
}

// waitReplicating waits until every replica runs both threads and has
// applied the primary's gtid_binlog_pos.
func (s *Sandbox) waitReplicating(ctx context.Context, timeout time.Duration) error {
	pdb := rootDB(s.Primary())
	var pos string
	err := pdb.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&pos)
	pdb.Close()
	if err != nil {
		return fmt.Errorf("%s: read gtid_binlog_pos: %w", s.Primary(), err)
	}
	replicas := s.Replicas()
	errs := make([]error, len(replicas))
	var wg sync.WaitGroup
	for i, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = waitReplica(ctx, r, pos, timeout)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitReplica waits for both threads, then for MASTER_GTID_WAIT(pos).
// MASTER_GTID_WAIT keeps waiting when the SQL thread stops, which is why
// the threads are checked first; it returns 0 when reached, -1 on timeout.
func waitReplica(ctx context.Context, r Instance, pos string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	db := rootDB(r)
	defer db.Close()
	if err := waitThreads(ctx, db, r); err != nil {
		return err
	}
	// A negative timeout would make MASTER_GTID_WAIT wait for ever.
	left := max(time.Until(deadlineOf(ctx)), time.Millisecond)
	var res sql.NullInt64
	err := db.QueryRowContext(ctx, "SELECT MASTER_GTID_WAIT(?, ?)", pos, left.Seconds()).Scan(&res)
	if err != nil {
		return fmt.Errorf("%s: master_gtid_wait(%q): %w", r, pos, err)
	}
	if !res.Valid || res.Int64 != 0 {
		return fmt.Errorf("%s: has not applied %q after %s", r, pos, timeout)
	}
	return nil
}

// waitThreads polls SHOW SLAVE STATUS until Slave_IO_Running and
// Slave_SQL_Running are both Yes. The IO thread reports "Connecting"
// while it retries, so only a stopped SQL thread fails at once.
func waitThreads(ctx context.Context, db *sql.DB, r Instance) error {
	for {
		st, err := queryMap(ctx, db, "SHOW SLAVE STATUS")
		if err != nil {
			return fmt.Errorf("%s: show slave status: %w", r, err)
		}
		if st == nil {
			return fmt.Errorf("%s: not configured as a replica", r)
		}
		if st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes" {
			return nil
		}
		if st["Slave_SQL_Running"] == "No" && st["Last_SQL_Error"] != "" {
			return fmt.Errorf("%s: SQL thread stopped: %s", r, st["Last_SQL_Error"])
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: replication threads not running (io=%s sql=%s, last io error: %q): %w",
				r, st["Slave_IO_Running"], st["Slave_SQL_Running"], st["Last_IO_Error"], ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// queryMap returns the first row of query by column name (status rows are
// read by name, never by index), or nil when there is no row.
func queryMap(ctx context.Context, db *sql.DB, query string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		return nil, rows.Err()
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	m := make(map[string]string, len(cols))
	for i, c := range cols {
		m[c] = string(vals[i])
	}
	return m, rows.Err()
}

func deadlineOf(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(DefaultTimeout)
	}
	return d
}

// redactErr keeps a server error's number for errors.As while hiding the
// password a syntax error message could quote.
func redactErr(err error, secret string) error {
	var me *gosql.MySQLError
	if errors.As(err, &me) {
		c := *me
		c.Message = redact(c.Message, secret)
		return &c
	}
	return errors.New(redact(err.Error(), secret))
}
