package server

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// Statement is one statement a server ran, or, in a dry run, would have
// run; or another change a dry run skipped (Kind). It is what audit logs
// and plans are made of.
type Statement struct {
	Server string // "db2 (127.0.0.1:3307)"; "" for a change of no server (a shell hook)
	SQL    string // with CHANGE MASTER passwords redacted; placeholders stay "?"; or what Kind would do
	Args   int    // how many placeholder values were sent
	// Values are the placeholder values as the audit log shows them
	// (strings, numbers, booleans, nil); each one Redacted when the
	// statement may set a password (see secretValues).
	Values   []any
	Start    time.Time     // when it was sent
	Duration time.Duration // until the answer
	Rows     int64         // rows returned, or affected
	Err      error         // nil on success
	Planned  bool          // dry run: recorded, not executed
	// Kind is "" for SQL, else the kind of change a dry run skipped:
	// KindMachine, KindFile, KindShell, KindBackup, KindRestore.
	Kind string
	// Unverified marks a read a dry run ran on a server after skipping a
	// change to it: its answer is the server's state without that change.
	Unverified bool
}

// Kinds of changes besides SQL that a dry run records.
const (
	KindMachine = "machine" // start, stop, restart
	KindFile    = "file"    // an option file written
	KindShell   = "shell"   // rep.shell
	KindBackup  = "backup"
	KindRestore = "restore"
)

// Observer sees every statement run on a server's session, in order. It
// must be quick and safe for concurrent use: servers run in parallel.
type Observer interface {
	Statement(Statement)
}

// SetObserver makes o see every statement from now on; nil stops it.
func (s *Server) SetObserver(o Observer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observer = o
}

// SetDryRun turns dry-run mode on or off. In a dry run only statements
// ReadOnly allows run; every other one is recorded (Statement.Planned),
// not executed, and reports success with no rows. Reads run for real, so a
// procedure decides on live state; once a change to this server has been
// skipped, they are recorded as unverified.
func (s *Server) SetDryRun(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dryRun = on
	s.skipped = false
}

// DryRun reports whether the server is in dry-run mode.
func (s *Server) DryRun() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dryRun
}

// Plan records, in a dry run, a change to this server that is not SQL (a
// machine action, a file written, a backup or restore): what it would do.
// Later reads of the server are unverified.
func (s *Server) Plan(kind, what string) {
	s.mu.Lock()
	s.skipped = true
	s.mu.Unlock()
	s.observe(Statement{SQL: what, Start: time.Now(), Planned: true, Kind: kind})
}

func (s *Server) observe(st Statement) {
	s.mu.Lock()
	o := s.observer
	st.Unverified = !st.Planned && s.skipped
	s.mu.Unlock()
	if o == nil {
		return
	}
	st.Server = s.String()
	o.Statement(st)
}

// Redacted stands for a secret in what the server reports: a placeholder
// value of a statement that may set a password.
const Redacted = "<redacted>"

// observeSQL reports a statement sent to the server.
func (s *Server) observeSQL(query string, args []any, start time.Time, rows int64, err error) {
	s.observe(Statement{SQL: flavor.Redact(query), Args: len(args), Values: logValues(query, args), Start: start,
		Duration: time.Since(start), Rows: rows, Err: err})
}

// secretValues reports whether the placeholder values of query may hold a
// password. flavor.Redact finds password literals after PASSWORD = ,
// IDENTIFIED BY and PASSWORD( ; a placeholder there is no literal, and a
// statement may be spaced otherwise ("MASTER_PASSWORD=?"), so this fails
// closed: any statement that names a password or an IDENTIFIED clause.
func secretValues(query string) bool {
	u := strings.ToUpper(query)
	return strings.Contains(u, "PASSWORD") || strings.Contains(u, "IDENTIFIED")
}

// logFloat is f, or its text when JSON has no number for it (NaN, ±Inf):
// one such value must not stop the audit log.
func logFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}

// logValues are args as a log shows them, or nil for none.
func logValues(query string, args []any) []any {
	if len(args) == 0 {
		return nil
	}
	secret := secretValues(query)
	out := make([]any, len(args))
	for i, a := range args {
		if secret {
			out[i] = Redacted
			continue
		}
		switch v := a.(type) {
		case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			out[i] = v
		case float64:
			out[i] = logFloat(v)
		case float32:
			out[i] = logFloat(float64(v))
		case []byte:
			out[i] = string(v)
		case time.Time:
			out[i] = v.UTC().Format(time.RFC3339Nano)
		case Secret:
			out[i] = Redacted
		default:
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}

// dryRunning reports whether this statement is only to be recorded, and
// records it then.
func (s *Server) dryRunning(query string, args []any) bool {
	if !s.DryRun() {
		return false
	}
	if ok, _ := ReadOnly(query); ok {
		return false
	}
	s.mu.Lock()
	s.skipped = true
	s.mu.Unlock()
	s.observe(Statement{SQL: flavor.Redact(query), Args: len(args), Values: logValues(query, args), Start: time.Now(),
		Planned: true})
	return true
}
