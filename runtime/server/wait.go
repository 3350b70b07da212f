package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// WatchInterval is how often a wait looks at the replica's threads.
const WatchInterval = 100 * time.Millisecond

// ReplicationStoppedError says the replica's applier stopped while we
// waited for it: the wait can never succeed.
type ReplicationStoppedError struct {
	Server  string
	Errno   int64
	Message string
}

func (e *ReplicationStoppedError) Error() string {
	if e.Errno != 0 {
		return fmt.Sprintf("replica SQL thread stopped while waiting: error %d: %s", e.Errno, e.Message)
	}
	return "replica SQL thread is not running, so the wait cannot finish (start it, or check replica_status())"
}

// NotReplicaError says the server has no replication configured.
type NotReplicaError struct{ Server string }

func (e *NotReplicaError) Error() string { return "not a replica (no replication source configured)" }

// waitDeadline turns an optional timeout into the server-side one: the
// caller's, or what is left of the context, or a day (the context still
// ends the wait sooner).
func waitDeadline(ctx context.Context, timeout time.Duration) time.Duration {
	if timeout > 0 {
		return timeout
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left > 0 {
			return left
		}
		return time.Millisecond
	}
	return 24 * time.Hour
}

// WaitForGTID waits until the replica has applied every transaction of
// set. It returns false when the timeout passes first. Because neither
// MASTER_GTID_WAIT nor WAIT_FOR_EXECUTED_GTID_SET notices a stopped SQL
// thread (they keep waiting, or time out), a watcher reads the replica's
// status beside the wait and ends it with an error when the applier stops.
func (s *Server) WaitForGTID(ctx context.Context, set gtid.Set, timeout time.Duration) (bool, error) {
	fl, err := s.Flavor(ctx)
	if err != nil {
		return false, relabel(err, "wait_for")
	}
	d := waitDeadline(ctx, timeout)
	w, err := fl.WaitForGTID(set.String(), d)
	if err != nil {
		return false, &Error{Op: "wait_for", Server: s.String(), Message: err.Error(), Err: err}
	}
	pw := s.BeginWait(fmt.Sprintf("waiting for %s to apply %s", s.Name(), set), shownTimeout(ctx, timeout))
	defer pw.End()
	return s.watchedWait(ctx, w, d, func(st *flavor.ReplicaStatus) { pw.Update(gtidBehind(set, st)) })
}

// WaitForPosition waits until the replica has applied its source's binlog
// up to pos. MASTER_POS_WAIT returns NULL at once when the SQL thread is
// not running; the watcher covers it stopping midway.
func (s *Server) WaitForPosition(ctx context.Context, pos gtid.Position, timeout time.Duration) (bool, error) {
	fl, err := s.Flavor(ctx)
	if err != nil {
		return false, relabel(err, "wait_for")
	}
	d := waitDeadline(ctx, timeout)
	w, err := fl.WaitForPosition(pos.File, pos.Pos, d)
	if err != nil {
		return false, &Error{Op: "wait_for", Server: s.String(), Message: err.Error(), Err: err}
	}
	pw := s.BeginWait(fmt.Sprintf("waiting for %s to apply %s", s.Name(), pos), shownTimeout(ctx, timeout))
	defer pw.End()
	return s.watchedWait(ctx, w, d, func(st *flavor.ReplicaStatus) { pw.Update(positionBehind(pos, st)) })
}

// watchedWait runs w on the session while a watcher polls the replica's
// status on another connection. Whichever ends first decides: the wait's
// own answer, or the watcher's error (which cancels the wait; the session
// then kills the statement on the server). The statement's deadline is the
// server-side timeout d plus grace: a server that does not answer by then
// is hung, not waiting. Each status the watcher reads goes to seen, for
// the wait's progress.
func (s *Server) watchedWait(ctx context.Context, w flavor.Wait, d time.Duration, seen func(*flavor.ReplicaStatus)) (bool, error) {
	waitCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		if err := s.watchApplier(waitCtx, seen); err != nil {
			cancel(err)
		}
	}()
	res, err := s.Query(withOpDeadline(waitCtx, "wait", d+s.Deadlines().WaitGrace), w.Query, w.Args...)
	if cause := context.Cause(waitCtx); err != nil && cause != nil && ctx.Err() == nil {
		return false, s.wrap("wait_for", cause) // the watcher ended it
	}
	if err != nil {
		return false, relabel(err, "wait_for")
	}
	reached, err := w.Outcome(res.Rows[0][0])
	if errors.Is(err, flavor.ErrWaitNotRunning) {
		if st, serr := s.replicaStatusAside(ctx); serr == nil {
			err = applierProblem(s.String(), st)
		}
	}
	if err != nil {
		return false, s.wrap("wait_for", err)
	}
	return reached, nil
}

// watchApplier returns an error as soon as the replica cannot make
// progress (not a replica, SQL thread stopped), and nil when ctx ends.
func (s *Server) watchApplier(ctx context.Context, seen func(*flavor.ReplicaStatus)) error {
	t := time.NewTicker(WatchInterval)
	defer t.Stop()
	for {
		st, err := s.replicaStatusAside(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		seen(st)
		if problem := applierProblem(s.String(), st); problem != nil {
			return problem
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func applierProblem(server string, st *flavor.ReplicaStatus) error {
	switch {
	case st == nil:
		return &NotReplicaError{Server: server}
	case !st.SQLRunning:
		return &ReplicationStoppedError{Server: server, Errno: st.LastSQLErrno, Message: st.LastSQLError}
	}
	return nil
}

// WaitAndStop lets the applier run exactly up to pos of the source's
// binary log and stop there (the Python Replicant's slave_wait_and_stop):
// STOP the SQL thread, START ... UNTIL pos, then watch until the SQL thread
// has stopped, and check it stopped at pos. False when the timeout passes
// first (the applier is then still running toward pos).
func (s *Server) WaitAndStop(ctx context.Context, pos gtid.Position, timeout time.Duration) (bool, error) {
	if err := s.StopReplica(ctx, flavor.SQLThread); err != nil {
		return false, relabel(err, "wait_and_stop")
	}
	err := s.StartReplicaUntil(ctx, flavor.BothThreads, flavor.UntilPosition(pos.File, pos.Pos))
	if err != nil {
		return false, relabel(err, "wait_and_stop")
	}
	if s.DryRun() {
		return true, nil // the two statements are in the plan; nothing will stop
	}
	deadline := time.Now().Add(waitDeadline(ctx, timeout))
	pw := s.BeginWait(fmt.Sprintf("waiting for %s to apply up to %s and stop", s.Name(), pos), shownTimeout(ctx, timeout))
	defer pw.End()
	for {
		st, err := s.ReplicaStatus(ctx)
		if err != nil {
			return false, relabel(err, "wait_and_stop")
		}
		pw.Update(positionBehind(pos, st))
		if st == nil {
			return false, s.wrap("wait_and_stop", &NotReplicaError{Server: s.String()})
		}
		if !st.SQLRunning {
			return true, s.stoppedAt(st, pos)
		}
		// The applier checks the UNTIL condition before each event, so when
		// pos is the end of everything received it applies up to pos and
		// then waits for more instead of stopping (seen on MariaDB 10.11).
		// It cannot pass pos, so stopping it there ends exactly at pos.
		if gtid.Position(st.ExecPosition) == pos {
			if err := s.StopReplica(ctx, flavor.SQLThread); err != nil {
				return false, relabel(err, "wait_and_stop")
			}
			continue
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, s.wrap("wait_and_stop", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stoppedAt checks that a SQL thread stopped by UNTIL stopped at pos and
// not for an error.
func (s *Server) stoppedAt(st *flavor.ReplicaStatus, pos gtid.Position) error {
	if st.LastSQLErrno != 0 {
		return s.wrap("wait_and_stop", &ReplicationStoppedError{Server: s.String(), Errno: st.LastSQLErrno, Message: st.LastSQLError})
	}
	if got := gtid.Position(st.ExecPosition); got != pos {
		return s.wrap("wait_and_stop", fmt.Errorf("the SQL thread stopped at %s, not at %s", got, pos))
	}
	return nil
}
