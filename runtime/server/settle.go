package server

import (
	"context"
	"fmt"
	"time"
)

// A session whose statement was abandoned (its context ended, or the
// connection broke while it ran) may still run that statement: a stopped
// server reads it from its socket when it resumes, and a busy one may be
// executing it now. Settle makes that impossible, so that what a read
// shows afterwards is final.

// abandon records the session id as one whose statement may still run.
// The caller holds sessionMu.
func (s *Server) abandon(id int64) {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	s.abandoned = append(s.abandoned, id)
}

// Settle kills every session of ours whose statement was abandoned and
// waits until the server lists none of them, so that no statement this
// object sent can land later. It needs the server to answer: a stopped or
// unreachable server gives an error, and nothing may be concluded then.
func (s *Server) Settle(ctx context.Context) error {
	s.ownMu.Lock()
	ids := append([]int64(nil), s.abandoned...)
	s.ownMu.Unlock()
	if len(ids) == 0 || s.DryRun() {
		return nil
	}
	bctx, cancel := s.bound(ctx, "SELECT 1")
	defer cancel()
	for _, id := range ids {
		if err := s.settleOne(bctx, id); err != nil {
			return s.wrap("settle", deadlineCause(ctx, bctx, err))
		}
		s.ownMu.Lock()
		for i, a := range s.abandoned {
			if a == id {
				s.abandoned = append(s.abandoned[:i], s.abandoned[i+1:]...)
				break
			}
		}
		s.ownMu.Unlock()
	}
	return nil
}

func (s *Server) settleOne(ctx context.Context, id int64) error {
	for {
		var n int
		err := s.pool().QueryRowContext(ctx,
			"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", id).Scan(&n)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		// KILL of a connection that has just gone answers 1094 (unknown
		// thread): the next look sees it gone.
		s.pool().ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
