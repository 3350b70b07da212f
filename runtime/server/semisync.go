package server

import (
	"context"
	"fmt"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// SemiSync reads the server's semi-synchronous replication settings and
// status in one query (flavor.SemiSyncQuery), on a pooled connection.
func (s *Server) SemiSync(ctx context.Context) (flavor.SemiSync, error) {
	fl, err := s.Flavor(ctx)
	if err != nil {
		return flavor.SemiSync{}, relabel(err, "semi_sync")
	}
	res, err := s.Aside(ctx, fl.SemiSyncQuery())
	if err != nil {
		return flavor.SemiSync{}, relabel(err, "semi_sync")
	}
	return flavor.ParseSemiSync(nameValues(res)), nil
}

// nameValues turns (Variable_name, Value) rows into a map.
func nameValues(res *Result) map[string]string {
	out := map[string]string{}
	for i := range res.Rows {
		row := res.Row(i)
		name, _ := row["Variable_name"].(string)
		out[name] = fmt.Sprint(row["Value"])
	}
	return out
}

// SemiSyncChange is what SetSemiSync did.
type SemiSyncChange struct {
	// Before is the state before the change, for an undo.
	Before flavor.SemiSync
	// RestartedReceiver is true when the replica side changed while the
	// receiver ran, so it was stopped and started again to take the change.
	RestartedReceiver bool
}

// SetSemiSync changes the semi-sync settings. On MySQL it first installs
// the plugin of a side being turned on when the server has none. When the
// replica side changes and the receiver is running, it restarts the
// receiver (IO thread only: the applier keeps going, and on MariaDB a stop
// of both threads would drop the relay log at the next start), since the
// server reads the setting only when the receiver connects.
func (s *Server) SetSemiSync(ctx context.Context, set flavor.SemiSyncSettings) (SemiSyncChange, error) {
	const op = "set_semi_sync"
	var ch SemiSyncChange
	fl, err := s.Flavor(ctx)
	if err != nil {
		return ch, relabel(err, op)
	}
	stmt, err := fl.SetSemiSync(set)
	if err != nil {
		return ch, &Error{Op: op, Server: s.String(), Message: err.Error(), Err: err}
	}
	if ch.Before, err = s.SemiSync(ctx); err != nil {
		return ch, relabel(err, op)
	}
	if !ch.Before.Available {
		for _, install := range fl.SemiSyncPlugins(on(set.Primary), on(set.Replica)) {
			if _, err := s.Exec(ctx, install); err != nil {
				return ch, relabel(err, op)
			}
		}
	}
	if _, err := s.Exec(ctx, stmt); err != nil {
		return ch, relabel(err, op)
	}
	if !flavor.SemiSyncNeedsReceiverRestart(set) {
		return ch, nil
	}
	st, err := s.replicaStatusAside(ctx)
	if err != nil || st == nil || st.IOThread == "No" || st.IOThread == "" {
		return ch, relabel(err, op)
	}
	if err := s.StopReplica(ctx, flavor.IOThread); err != nil {
		return ch, relabel(err, op)
	}
	if err := s.StartReplica(ctx, flavor.IOThread); err != nil {
		return ch, relabel(err, op)
	}
	ch.RestartedReceiver = true
	return ch, nil
}

func on(b *bool) bool { return b != nil && *b }
