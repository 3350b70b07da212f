package server

import (
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// Statement is one statement a server ran, or, in a dry run, would have
// run; or another change a dry run skipped (Kind). It is what audit logs
// and plans are made of.
type Statement struct {
	Server   string        // "db2 (127.0.0.1:3307)"; "" for a change of no server (a shell hook)
	SQL      string        // with CHANGE MASTER passwords redacted; placeholders stay "?"; or what Kind would do
	Args     int           // how many placeholder values were sent (values are not kept)
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

// observeSQL reports a statement sent to the server.
func (s *Server) observeSQL(query string, args []any, start time.Time, rows int64, err error) {
	s.observe(Statement{SQL: flavor.Redact(query), Args: len(args), Start: start, Duration: time.Since(start),
		Rows: rows, Err: err})
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
	s.observe(Statement{SQL: flavor.Redact(query), Args: len(args), Start: time.Now(), Planned: true})
	return true
}
