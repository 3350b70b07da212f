package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

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
	cause := s.driverLog.take() // taken in any case: it belongs to this failure or to none
	e := &Error{Op: op, Server: s.String(), Err: err, Message: err.Error()}
	var me *gosql.MySQLError
	var ce *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ce):
		// Go's message says what is wrong with the certificate, not what
		// it was checked against.
		e.Message = fmt.Sprintf("TLS: the server's certificate is not accepted (%s): %v", s.cfg.TLS.verifiedAgainst(s.cfg.Host), err)
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
	default:
		// A broken connection comes back as "invalid connection" or "bad
		// connection"; the driver only logs why.
		if cause != "" && !strings.Contains(e.Message, cause) {
			e.Message += " (" + cause + ")"
		}
	}
	return e
}

// driverLog keeps the last error the driver logged. When a connection
// breaks, the driver returns "invalid connection" or "bad connection" and
// only logs the cause: a server that does not trust our client
// certificate ends the TLS session with an alert ("remote error: tls:
// unknown certificate authority") that nothing else reports (seen as
// either error, depending on whether the alert arrived before the
// driver's next write). Nothing is written anywhere.
type driverLog struct {
	mu   sync.Mutex
	last string
}

// Print receives the driver's message: a "file.go:123 " prefix, then the
// error.
func (l *driverLog) Print(v ...any) {
	if len(v) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = fmt.Sprint(v[len(v)-1])
}

// take returns the last message and forgets it, so that it explains one
// failure only.
func (l *driverLog) take() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	last := l.last
	l.last = ""
	return last
}

// AuthFailed reports whether the server refused the login: a wrong user
// or password (1045, 1698), no access to the database (1044), or a host
// the account may not connect from (1130). The server answered: it is
// running, and only the tool's credentials or grants are wrong.
func AuthFailed(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case 1044, 1045, 1130, 1698:
		return true
	}
	return false
}

// NotSent reports whether err ended an operation before any statement of
// it reached the server: while dialling, on the greeting or the login
// (the connect deadline), or refused at login. Such a failure changed
// nothing there, whatever the caller asked for.
func NotSent(err error) bool {
	var de *DeadlineError
	if errors.As(err, &de) && de.Kind == "connect" {
		return true
	}
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "dial" {
		return true
	}
	var e *Error
	return errors.As(err, &e) && e.Op == "connect"
}
