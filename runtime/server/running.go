package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// ReceiverStoppedError says the replica's receiver (IO thread) is stopped
// rather than connecting: it will not start by itself.
type ReceiverStoppedError struct {
	Server  string
	Errno   int64
	Message string
}

func (e *ReceiverStoppedError) Error() string {
	if e.Errno != 0 {
		return fmt.Sprintf("replica IO thread stopped: error %d: %s", e.Errno, e.Message)
	}
	return "replica IO thread is not running (start it, or check replica_status())"
}

// runningPoll is how often WaitReplicating reads the status. A receiver
// just started shows "Connecting" (or "Preparing") for a moment before
// "Yes".
const runningPoll = 20 * time.Millisecond

// WaitReplicating waits until both replication threads run and the
// receiver is connected. It returns false when the timeout passes first
// (the receiver still connecting: Last_IO_Error says why), and an error
// when it cannot happen by itself: not a replica, the applier stopped, the
// receiver stopped. In a dry run after a skipped change to the server
// (a START REPLICA, say) the answer cannot be known: it is taken as
// reached, and recorded as unverified.
func (s *Server) WaitReplicating(ctx context.Context, timeout time.Duration) (bool, error) {
	s.mu.Lock()
	guess := s.dryRun && s.skipped
	s.mu.Unlock()
	if guess {
		s.observe(Statement{SQL: "wait until replication runs (SHOW REPLICA STATUS)", Start: time.Now()})
		return true, nil
	}
	deadline := time.Now().Add(waitDeadline(ctx, timeout))
	pw := s.BeginWait(fmt.Sprintf("waiting for %s to replicate", s.Name()), shownTimeout(ctx, timeout))
	defer pw.End()
	for {
		st, err := s.ReplicaStatus(ctx)
		if err != nil {
			return false, relabel(err, "wait_replicating")
		}
		pw.Update(receiverState(st))
		if done, err := replicating(s.String(), st); done || err != nil {
			return done, s.wrap("wait_replicating", err)
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, s.wrap("wait_replicating", context.Cause(ctx))
		case <-time.After(runningPoll):
		}
	}
}

// replicating decides from one status: both threads running (true), not
// yet (false), or never by itself (an error).
func replicating(server string, st *flavor.ReplicaStatus) (bool, error) {
	if err := applierProblem(server, st); err != nil {
		return false, err
	}
	if st.IORunning {
		return true, nil
	}
	if st.IOThread == "No" {
		return false, &ReceiverStoppedError{Server: server, Errno: st.LastIOErrno, Message: st.LastIOError}
	}
	return false, nil
}

// receiverState describes a replica not yet replicating: its receiver's
// state, and the error it last had connecting.
func receiverState(st *flavor.ReplicaStatus) string {
	if st == nil || st.IORunning {
		return ""
	}
	how := "receiver " + strings.ToLower(st.IOThread)
	if st.LastIOError != "" {
		how += " (" + st.LastIOError + ")"
	}
	return how
}
