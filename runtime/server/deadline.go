package server

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"
)

// Deadlines bound each operation on a server, so that a hung server (one
// stopped by SIGSTOP still completes TCP handshakes, because the kernel
// accepts on its listening socket, but never sends a greeting or an
// answer) fails the operation instead of blocking the run. The run's own
// deadline (--timeout) still bounds everything; the shorter one wins.
type Deadlines struct {
	// Read bounds a statement ReadOnly allows (status, variables, SELECT).
	Read time.Duration
	// Change bounds any other statement: a replication verb, read_only,
	// FLUSH TABLES WITH READ LOCK, an exec.
	Change time.Duration
	// WaitGrace is added to a replication wait's own timeout: the wait
	// statement runs that long on the server by design.
	WaitGrace time.Duration
}

// DefaultDeadlines apply unless a run sets others (SetDeadlines).
var DefaultDeadlines = Deadlines{Read: 30 * time.Second, Change: 60 * time.Second, WaitGrace: 10 * time.Second}

// SetDeadlines bounds the server's operations from now on; zero fields
// keep the defaults.
func (s *Server) SetDeadlines(d Deadlines) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deadlines = d
}

// Deadlines returns the deadlines in effect, defaults filled in.
func (s *Server) Deadlines() Deadlines {
	s.mu.Lock()
	d := s.deadlines
	s.mu.Unlock()
	return d.withDefaults()
}

func (d Deadlines) withDefaults() Deadlines {
	if d.Read <= 0 {
		d.Read = DefaultDeadlines.Read
	}
	if d.Change <= 0 {
		d.Change = DefaultDeadlines.Change
	}
	if d.WaitGrace <= 0 {
		d.WaitGrace = DefaultDeadlines.WaitGrace
	}
	return d
}

// DeadlineError says an operation got no answer in time.
type DeadlineError struct {
	Kind  string // "connect", "read", "statement", "wait"
	After time.Duration
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("no answer within %s (the %s deadline); the server may be hung or overloaded", e.After, e.Kind)
}

// Unwrap makes errors.Is(err, context.DeadlineExceeded) hold.
func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }

type opDeadlineKey struct{}

// withOpDeadline makes the next statement under ctx use d instead of the
// kind's deadline (a wait: its own timeout plus grace).
func withOpDeadline(ctx context.Context, kind string, d time.Duration) context.Context {
	return context.WithValue(ctx, opDeadlineKey{}, DeadlineError{Kind: kind, After: d})
}

// bound gives a statement its deadline: the wait's (withOpDeadline), or the
// read or change deadline for its kind.
func (s *Server) bound(ctx context.Context, query string) (context.Context, context.CancelFunc) {
	if op, ok := ctx.Value(opDeadlineKey{}).(DeadlineError); ok {
		return context.WithTimeoutCause(ctx, op.After, &op)
	}
	d := s.Deadlines()
	if ok, _ := ReadOnly(query); ok {
		return context.WithTimeoutCause(ctx, d.Read, &DeadlineError{Kind: "read", After: d.Read})
	}
	return context.WithTimeoutCause(ctx, d.Change, &DeadlineError{Kind: "statement", After: d.Change})
}

// deadlineCause returns the deadline that ended a statement, when it was
// ours and not the caller's context, else err unchanged.
func deadlineCause(parent, bounded context.Context, err error) error {
	if err == nil || parent.Err() != nil || bounded.Err() == nil {
		return err
	}
	if cause := context.Cause(bounded); cause != nil {
		return cause
	}
	return err
}

// boundedConnector bounds every new connection, from the dial through the
// greeting and authentication, by the connect timeout: the driver's
// Timeout covers the dial only, and it watches the context for the rest
// of the handshake.
type boundedConnector struct {
	driver.Connector
	timeout time.Duration
}

func (c boundedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, &DeadlineError{Kind: "connect", After: c.timeout})
	defer cancel()
	conn, err := c.Connector.Connect(ctx)
	if err != nil && ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil {
			return nil, fmt.Errorf("%w (%v)", cause, err)
		}
	}
	return conn, err
}
