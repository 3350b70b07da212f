package server

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// NamedLock is a GET_LOCK lock held on a connection of its own. The server
// releases it when that connection ends, so a crashed holder never leaves
// it behind.
type NamedLock struct {
	server *Server
	name   string
	conn   *sql.Conn
	id     int64
}

// LockHeldError says another session holds the lock.
type LockHeldError struct {
	Server string
	Name   string
	Holder string // "connection 17 (replicant@127.0.0.1:51234, 12s)"
}

func (e *LockHeldError) Error() string {
	return fmt.Sprintf("lock %q is held by %s", e.Name, e.Holder)
}

// TryLock takes the named lock without waiting: GET_LOCK(name, 0) returns
// 1 when taken, 0 when another session holds it, NULL on error.
func (s *Server) TryLock(ctx context.Context, name string) (*NamedLock, error) {
	if s.DryRun() {
		return &NamedLock{server: s, name: name}, nil // a dry run changes nothing and conflicts with nothing
	}
	parent := ctx
	ctx, cancel := s.bound(ctx, "GET_LOCK")
	defer cancel()
	conn, err := s.pool().Conn(ctx)
	if err != nil {
		return nil, s.wrap("lock", deadlineCause(parent, ctx, err))
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", name).Scan(&got); err != nil {
		discard(conn)
		return nil, s.wrap("lock", deadlineCause(parent, ctx, err))
	}
	if got.Valid && got.Int64 == 1 {
		l := &NamedLock{server: s, name: name, conn: conn}
		if conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&l.id) == nil {
			s.own(l.id, true) // a fence's kill_connections must not end our own lock
		}
		return l, nil
	}
	holder := s.lockHolder(ctx, conn, name)
	discard(conn)
	if !got.Valid {
		return nil, &Error{Op: "lock", Server: s.String(), Message: "GET_LOCK returned NULL"}
	}
	return nil, &Error{Op: "lock", Server: s.String(), Message: (&LockHeldError{Name: name, Holder: holder}).Error(),
		Err: &LockHeldError{Server: s.String(), Name: name, Holder: holder}}
}

// lockHolder describes the session holding name, for the error message.
func (s *Server) lockHolder(ctx context.Context, conn *sql.Conn, name string) string {
	var id sql.NullInt64
	if conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", name).Scan(&id) != nil || !id.Valid {
		return "another session"
	}
	var user, host string
	var secs int64
	err := conn.QueryRowContext(ctx, "SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = ?", id.Int64).
		Scan(&user, &host, &secs)
	if err != nil {
		return fmt.Sprintf("connection %d", id.Int64)
	}
	return fmt.Sprintf("connection %d (%s@%s, for %s)", id.Int64, user, host, time.Duration(secs)*time.Second)
}

// Release gives the lock back and closes its connection.
func (l *NamedLock) Release() {
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	l.conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", l.name)
	discard(l.conn)
	l.server.own(l.id, false)
	l.conn = nil
}

// Held checks that the lock's own session still holds it: IS_USED_LOCK
// returns the connection id of the session holding the lock, NULL when
// none does. A killed session fails the query (the sql.Conn does not
// reconnect), which also reads as not held.
func (l *NamedLock) Held(ctx context.Context) error {
	if l.conn == nil {
		return nil // a dry run's lock, or a released one: nothing to lose
	}
	var id sql.NullInt64
	if err := l.conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", l.name).Scan(&id); err != nil {
		return l.server.wrap("lock check", err)
	}
	if !id.Valid || id.Int64 != l.id {
		return &Error{Op: "lock check", Server: l.server.String(),
			Message: fmt.Sprintf("lock %q is no longer held by our session %d", l.name, l.id)}
	}
	return nil
}
