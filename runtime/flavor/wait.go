package flavor

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrWaitNotRunning is what Wait.Outcome returns when a position wait
// returned NULL: the SQL thread is not running, stopped while waiting, or
// the replica has no source configured.
var ErrWaitNotRunning = errors.New("replica SQL thread not running or source not configured")

type waitKind int

const (
	waitMariaDBGTID waitKind = iota + 1
	waitMySQLGTID
	waitPosition
)

// Wait is a server-side wait: run Query with Args, read the single value
// of its single row and pass it to Outcome. The server enforces the timeout;
// give the query a context deadline somewhat longer, so that a stuck
// connection does not outlive the procedure.
type Wait struct {
	Query string
	Args  []any
	kind  waitKind
	fn    string
}

// WaitForGTID returns the wait until this server has applied every GTID of
// gtids, for at most timeout (which must be positive: the servers read zero
// or a negative timeout as "wait forever").
//
// MariaDB: SELECT MASTER_GTID_WAIT(pos, timeout) waits until gtid_slave_pos
// reaches pos in every domain pos names. "If the wait completes without a
// timeout, 0 is returned", -1 on timeout, NULL only for a NULL pos (MariaDB
// KB). It keeps waiting when the replica SQL thread stops (measured, 10.11),
// so the caller must also watch Slave_SQL_Running. The timeout may be
// fractional.
//
// MySQL: SELECT WAIT_FOR_EXECUTED_GTID_SET(set, timeout) waits until
// gtid_executed contains set: "0 for success, 1 for timeout"; other
// failures (killed, gtid_mode OFF) are SQL errors. It "shall not care about
// slaves running" (WL#7796), so the caller must watch the threads here too.
// The timeout is passed in whole seconds, rounded up.
func (f Flavor) WaitForGTID(gtids string, timeout time.Duration) (Wait, error) {
	if timeout <= 0 {
		return Wait{}, fmt.Errorf("wait for GTID: timeout %v must be positive", timeout)
	}
	if f.IsMariaDB() {
		return Wait{
			Query: "SELECT MASTER_GTID_WAIT(?, ?)",
			Args:  []any{gtids, timeout.Seconds()},
			kind:  waitMariaDBGTID,
			fn:    "MASTER_GTID_WAIT",
		}, nil
	}
	return Wait{
		Query: "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)",
		Args:  []any{gtids, ceilSeconds(timeout)},
		kind:  waitMySQLGTID,
		fn:    "WAIT_FOR_EXECUTED_GTID_SET",
	}, nil
}

// WaitForPosition returns the wait until the SQL thread has applied the
// source's binary log up to file:pos, for at most timeout.
//
// SELECT MASTER_POS_WAIT(file, pos, timeout) (SOURCE_POS_WAIT from MySQL
// 8.0.26): "The return value is the number of log events the replica had to
// wait for to advance to the specified position" (0 or more: reached). "The
// function returns NULL if the replication SQL thread is not started, the
// replica's source information is not initialized, the arguments are
// incorrect, or an error occurs. It returns -1 if the timeout has been
// exceeded. If the replication SQL thread stops while [it] is waiting, the
// function returns NULL" (refman 8.0 14.18.4; the same on the MariaDB KB).
// The timeout is passed in whole seconds, rounded up: MariaDB reads it as an
// integer.
func (f Flavor) WaitForPosition(file string, pos uint64, timeout time.Duration) (Wait, error) {
	if err := checkBinlogFile(file, pos); err != nil {
		return Wait{}, fmt.Errorf("wait for position: %w", err)
	}
	if pos > math.MaxInt64 {
		return Wait{}, fmt.Errorf("wait for position: position %d out of range", pos)
	}
	if timeout <= 0 {
		return Wait{}, fmt.Errorf("wait for position: timeout %v must be positive", timeout)
	}
	fn := "MASTER_POS_WAIT"
	if f.sourcePosWait() {
		fn = "SOURCE_POS_WAIT"
	}
	return Wait{
		Query: "SELECT " + fn + "(?, ?, ?)",
		Args:  []any{file, int64(pos), ceilSeconds(timeout)},
		kind:  waitPosition,
		fn:    fn,
	}, nil
}

// ceilSeconds rounds up to whole seconds, at least 1: 0 would mean "no
// timeout" to the server.
func ceilSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	if s < 1 {
		s = 1
	}
	return s
}

// Outcome interprets the value the wait query returned: reached is true
// when the target was reached, false with a nil error on timeout. Any other
// result is an error; a position wait that returned NULL wraps
// ErrWaitNotRunning.
func (w Wait) Outcome(v any) (reached bool, err error) {
	n, null, err := intValue(v)
	if err != nil {
		return false, fmt.Errorf("%s returned %v: %w", w.fn, v, err)
	}
	switch w.kind {
	case waitMariaDBGTID:
		switch {
		case null:
		case n == 0:
			return true, nil
		case n == -1:
			return false, nil
		}
	case waitMySQLGTID:
		switch {
		case null:
		case n == 0:
			return true, nil
		case n == 1:
			return false, nil
		}
	case waitPosition:
		switch {
		case null:
			return false, fmt.Errorf("%s returned NULL: %w", w.fn, ErrWaitNotRunning)
		case n >= 0:
			return true, nil
		case n == -1:
			return false, nil
		}
	default:
		return false, fmt.Errorf("outcome of an empty Wait")
	}
	if null {
		return false, fmt.Errorf("%s returned NULL", w.fn)
	}
	return false, fmt.Errorf("%s returned unexpected %d", w.fn, n)
}
