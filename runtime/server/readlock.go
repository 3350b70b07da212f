package server

import (
	"context"
	"database/sql"
	"math"
	"time"
)

// heldConn is a connection of our own, outside the session, that holds a
// lock for as long as it lives.
type heldConn struct {
	conn *sql.Conn
	id   int64
}

// LockOptions tune LockTables.
type LockOptions struct {
	// LockWait is lock_wait_timeout for the lock's session: how long
	// FLUSH TABLES WITH READ LOCK may wait behind a long statement before
	// the server gives up. 0 is the change deadline. (Not the main
	// session's lock_wait_timeout: reading it would put a statement on
	// that session first, and a server hung at that moment would cost the
	// session the undo needs.)
	LockWait time.Duration
}

// LockTables takes FLUSH TABLES WITH READ LOCK on a session of its own,
// where it stays until UnlockTables, Close, or that connection is lost.
// The server's main session stays free: reads of a fenced primary (its
// GTID position, a guard's replica_status) never queue on the connection
// that holds the lock, and a read that hangs cannot keep the lock alive.
func (s *Server) LockTables(ctx context.Context, opts LockOptions) error {
	fl, err := s.Flavor(ctx)
	if err != nil {
		return relabel(err, "lock_tables")
	}
	stmt := fl.FlushTablesWithReadLock()
	if s.dryRunning(stmt, nil) {
		return nil
	}
	secs := s.lockWaitSeconds(opts.LockWait)
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	if s.readLock != nil {
		return nil // FLUSH TABLES WITH READ LOCK again on the holder changes nothing
	}
	conn, id, _, err := s.dial(ctx)
	if err != nil {
		return s.wrap("lock_tables", err)
	}
	s.own(id, true) // a fence's kill_connections must not end our own lock
	bctx, cancel := s.bound(ctx, stmt)
	defer cancel()
	start := time.Now()
	_, err = conn.ExecContext(bctx, "SET SESSION lock_wait_timeout = ?", secs)
	if err == nil {
		start = time.Now()
		_, err = conn.ExecContext(bctx, stmt)
	}
	err = deadlineCause(ctx, bctx, err)
	s.observeSQL(stmt, nil, start, 0, err)
	if err != nil {
		if bctx.Err() != nil {
			s.killQuery(id)
		}
		discard(conn) // the server releases whatever it got when the connection ends
		s.own(id, false)
		return s.wrap("lock_tables", err)
	}
	s.readLock = &heldConn{conn: conn, id: id}
	return nil
}

// lockWaitSeconds is the lock_wait_timeout for LockTables' session.
func (s *Server) lockWaitSeconds(wait time.Duration) int64 {
	if wait <= 0 {
		wait = s.Deadlines().Change
	}
	return int64(math.Ceil(wait.Seconds()))
}

// UnlockTables releases LockTables: UNLOCK TABLES on the lock's session,
// which then ends (the server releases the lock with the connection in any
// case). Without such a lock, it runs UNLOCK TABLES on the main session,
// for locks a script took there itself.
func (s *Server) UnlockTables(ctx context.Context) error {
	fl, err := s.Flavor(ctx)
	if err != nil {
		return relabel(err, "unlock_tables")
	}
	stmt := fl.UnlockTables()
	if s.dryRunning(stmt, nil) {
		return nil
	}
	s.lockMu.Lock()
	held := s.readLock
	s.readLock = nil
	s.lockMu.Unlock()
	if held == nil {
		_, err := s.Exec(ctx, stmt)
		return relabel(err, "unlock_tables")
	}
	defer s.own(held.id, false)
	defer discard(held.conn)
	bctx, cancel := s.bound(ctx, stmt)
	defer cancel()
	start := time.Now()
	_, err = held.conn.ExecContext(bctx, stmt)
	err = deadlineCause(ctx, bctx, err)
	s.observeSQL(stmt, nil, start, 0, err)
	if err != nil {
		return s.wrap("unlock_tables", err)
	}
	return nil
}

// releaseReadLock ends the lock's session without a word to the server.
func (s *Server) releaseReadLock() {
	s.lockMu.Lock()
	held := s.readLock
	s.readLock = nil
	s.lockMu.Unlock()
	if held != nil {
		discard(held.conn)
		s.own(held.id, false)
	}
}
