package server

import (
	"context"
	"errors"
	"fmt"

	gosql "github.com/go-sql-driver/mysql"
)

// Error is a failed operation on one server. It carries what an operator
// needs to act: which server, what we were doing, and the server's own
// error number and SQLSTATE when the server answered.
type Error struct {
	Op       string // "sql", "connect", "stop_replica", ...
	Server   string // "db2 (127.0.0.1:3307)"
	Code     int    // server error number; 0 when the failure was on our side
	SQLState string // "" when the server did not answer
	Message  string // the server's message, or the client-side reason
	Err      error  // the underlying error
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%s: %s: Error %d (%s): %s", e.Server, e.Op, e.Code, e.SQLState, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.Server, e.Op, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the operation ran out of time or was cancelled.
func (e *Error) Timeout() bool {
	return errors.Is(e.Err, context.DeadlineExceeded) || errors.Is(e.Err, context.Canceled)
}

// wrap turns any error from the driver into an *Error naming the server and
// the operation. An *Error passes through with its first Op kept, so the
// innermost, most precise operation name wins.
func (s *Server) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	e := &Error{Op: op, Server: s.String(), Err: err, Message: err.Error()}
	var me *gosql.MySQLError
	switch {
	case errors.As(err, &me):
		e.Code = int(me.Number)
		e.SQLState = string(me.SQLState[:])
		if me.SQLState == [5]byte{} {
			e.SQLState = "HY000"
		}
		e.Message = me.Message
	case errors.Is(err, context.DeadlineExceeded):
		e.Message = "timed out (" + err.Error() + ")"
	case errors.Is(err, context.Canceled):
		e.Message = "cancelled"
	}
	return e
}
