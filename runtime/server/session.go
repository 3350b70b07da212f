package server

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// SessionVar is a session variable to hold at a value for a block.
type SessionVar struct {
	Name  string // sql_log_bin, sql_mode, lock_wait_timeout, ...
	Value any
}

// restoreTimeout bounds putting session variables back; it runs on a
// fresh context, because the block may have failed on a cancelled one.
const restoreTimeout = 5 * time.Second

// WithSession runs fn with the session variables set, and puts back their
// previous values on every path (fn failing, the context ending). If they
// cannot be put back, the session is closed, so that no later statement
// runs with them: a session left with sql_log_bin = 0 would commit later
// writes without a GTID, never to reach the replicas. Should the session
// be lost inside fn, the next one opened there gets the values too, so the
// rest of fn runs with them as it expects.
func (s *Server) WithSession(ctx context.Context, vars []SessionVar, fn func() error) error {
	for _, v := range vars {
		if !variableName.MatchString(v.Name) || strings.Contains(v.Name, ".") {
			return &Error{Op: "session", Server: s.String(), Message: fmt.Sprintf("%q is not a session variable name", v.Name)}
		}
	}
	old := make([]any, len(vars))
	for i, v := range vars {
		row, err := s.QueryRow(ctx, "SELECT @@SESSION."+v.Name+" AS v")
		if err != nil {
			return relabel(err, "session")
		}
		if row != nil {
			old[i] = row["v"]
		}
	}
	s.pin(vars)
	defer s.unpin(vars, old)
	for _, v := range vars {
		if _, err := s.Exec(ctx, "SET SESSION "+v.Name+" = ?", v.Value); err != nil {
			return relabel(err, "session")
		}
	}
	return fn()
}

// pin records values a reopened session must get (openSession applies
// them).
func (s *Server) pin(vars []SessionVar) {
	s.sessionMu.Lock()
	defer s.sessionMu.Unlock()
	for _, v := range vars {
		s.pinned = append(s.pinned, v)
	}
}

// unpin puts the old values back, or closes the session when it cannot.
func (s *Server) unpin(vars []SessionVar, old []any) {
	s.sessionMu.Lock()
	s.pinned = s.pinned[:len(s.pinned)-len(vars)]
	s.sessionMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), restoreTimeout)
	defer cancel()
	var errs []error
	for i := len(vars) - 1; i >= 0; i-- {
		if _, err := s.Exec(ctx, "SET SESSION "+vars[i].Name+" = ?", old[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		s.CloseSession()
	}
}

// applyPinned sets the pinned session variables on a new session
// connection. The caller holds sessionMu.
func (s *Server) applyPinned(ctx context.Context, conn *sql.Conn) error {
	for _, v := range s.pinned {
		if _, err := conn.ExecContext(ctx, "SET SESSION "+v.Name+" = ?", v.Value); err != nil {
			return fmt.Errorf("set session %s again on the new session: %w", v.Name, err)
		}
	}
	return nil
}

// CloseSession closes the session connection only; the next statement
// opens a fresh one, with the server's defaults.
func (s *Server) CloseSession() {
	s.sessionMu.Lock()
	defer s.sessionMu.Unlock()
	s.dropSession()
}
