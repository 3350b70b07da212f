package flavor

import (
	"strconv"
	"time"
)

// Bounded returns stmt with a server-side time limit d, and true, where
// the flavor has one for every statement: MariaDB's SET STATEMENT
// max_statement_time = S FOR stmt (seconds, fractions allowed; the
// statement fails with error 1969 when the limit passes). Measured on
// 10.11: it bounds SET GLOBAL read_only = ON waiting for the global read
// lock under load, and read_only stays OFF when it fails. MySQL's
// max_execution_time covers SELECT only: there stmt comes back as it is,
// with false, and the caller bounds it otherwise (lock_wait_timeout).
func (f Flavor) Bounded(stmt string, d time.Duration) (string, bool) {
	if !f.IsMariaDB() || d <= 0 {
		return stmt, false
	}
	secs := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	return "SET STATEMENT max_statement_time = " + secs + " FOR " + stmt, true
}

// ErrStatementTimeout is the error code of a statement Bounded ended
// (MariaDB ER_STATEMENT_TIMEOUT).
const ErrStatementTimeout = 1969
