package server

import (
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// Statement is one statement a server ran, or, in a dry run, would have
// run. It is what audit logs and plans are made of.
type Statement struct {
	Server   string        // "db2 (127.0.0.1:3307)"
	SQL      string        // with CHANGE MASTER passwords redacted; placeholders stay "?"
	Args     int           // how many placeholder values were sent (values are not kept)
	Start    time.Time     // when it was sent
	Duration time.Duration // until the answer
	Rows     int64         // rows returned, or affected
	Err      error         // nil on success
	Planned  bool          // dry run: recorded, not executed
}

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

// SetDryRun turns dry-run mode on or off. In a dry run, statements that
// change the server are recorded (Statement.Planned) and not executed, and
// report success with no rows; reads and session-only settings run for
// real, so a procedure decides on live state.
func (s *Server) SetDryRun(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dryRun = on
}

// DryRun reports whether the server is in dry-run mode.
func (s *Server) DryRun() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dryRun
}

func (s *Server) observe(query string, args []any, start time.Time, rows int64, err error, planned bool) {
	s.mu.Lock()
	o := s.observer
	s.mu.Unlock()
	if o == nil {
		return
	}
	o.Statement(Statement{Server: s.String(), SQL: flavor.Redact(query), Args: len(args), Start: start,
		Duration: time.Since(start), Rows: rows, Err: err, Planned: planned})
}

// plan records a statement a dry run does not execute.
func (s *Server) plan(query string, args []any) {
	s.observe(query, args, time.Now(), 0, nil, true)
}

// changesServer reports whether a statement may change the server beyond
// this session: everything but reads and session settings. Dry runs
// execute the others.
func changesServer(query string) bool {
	q := strings.ToUpper(strings.TrimLeft(query, " \t\r\n("))
	for _, read := range []string{"SELECT", "SHOW", "DESCRIBE", "DESC ", "EXPLAIN", "WITH", "HELP"} {
		if strings.HasPrefix(q, read) {
			return strings.Contains(q, " INTO ") && !strings.HasPrefix(q, "SHOW")
		}
	}
	if rest, ok := strings.CutPrefix(q, "SET "); ok {
		rest = strings.TrimSpace(rest)
		return !(strings.HasPrefix(rest, "SESSION ") || strings.HasPrefix(rest, "@") ||
			strings.HasPrefix(rest, "NAMES ") || strings.HasPrefix(rest, "LOCAL "))
	}
	return true
}

// dryRunning reports whether this statement is only to be recorded.
func (s *Server) dryRunning(query string) bool {
	return s.DryRun() && changesServer(query)
}
