package server

import (
	"context"
	"fmt"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// NotPrimaryError says a server has no binary log to give a position of
// (the Python Replicant's NotMasterError).
type NotPrimaryError struct{ Server string }

const notPrimaryMessage = "binary logging is off, so the server has no binlog position (is log_bin set?)"

func (e *NotPrimaryError) Error() string { return e.Server + ": " + notPrimaryMessage }

// query runs a flavor statement and labels a failure with op.
func (s *Server) query(ctx context.Context, op string, build func(flavor.Flavor) string) (*Result, flavor.Flavor, error) {
	fl, err := s.Flavor(ctx)
	if err != nil {
		return nil, fl, relabel(err, op)
	}
	res, err := s.Query(ctx, build(fl))
	return res, fl, relabel(err, op)
}

// Position is where the server is writing its binary log.
func (s *Server) Position(ctx context.Context) (gtid.Position, error) {
	res, _, err := s.query(ctx, "position", flavor.Flavor.BinlogStatusQuery)
	if err != nil {
		return gtid.Position{}, err
	}
	if len(res.Rows) == 0 {
		return gtid.Position{}, &Error{Op: "position", Server: s.String(),
			Message: notPrimaryMessage, Err: &NotPrimaryError{Server: s.String()}}
	}
	bs, err := flavor.ParseBinlogStatus(res.Row(0))
	if err != nil {
		return gtid.Position{}, s.wrap("position", err)
	}
	return gtid.Position(bs.Position), nil
}

// ReplicaStatus reads the default replication channel's status; nil when
// the server is not a replica.
func (s *Server) ReplicaStatus(ctx context.Context) (*flavor.ReplicaStatus, error) {
	res, _, err := s.query(ctx, "replica_status", flavor.Flavor.ReplicaStatusQuery)
	if err != nil {
		return nil, err
	}
	return s.parseReplicaStatus(res)
}

// replicaStatusAside reads the status on a connection other than the
// session, for watching a replica while the session waits.
func (s *Server) replicaStatusAside(ctx context.Context) (*flavor.ReplicaStatus, error) {
	fl, err := s.Flavor(ctx)
	if err != nil {
		return nil, relabel(err, "replica_status")
	}
	res, err := s.Aside(ctx, fl.ReplicaStatusQuery())
	if err != nil {
		return nil, relabel(err, "replica_status")
	}
	return s.parseReplicaStatus(res)
}

func (s *Server) parseReplicaStatus(res *Result) (*flavor.ReplicaStatus, error) {
	st, ok, err := flavor.ParseReplicaStatusResult(res.Columns, res.Rows)
	if err != nil {
		return nil, s.wrap("replica_status", err)
	}
	if !ok {
		return nil, nil
	}
	return &st, nil
}

// GTIDExecuted is the set of transactions the server has applied: MySQL's
// gtid_executed, MariaDB's gtid_current_pos (see flavor.GTIDExecutedQuery
// for why that one).
func (s *Server) GTIDExecuted(ctx context.Context) (gtid.Set, error) {
	res, fl, err := s.query(ctx, "gtid_executed", flavor.Flavor.GTIDExecutedQuery)
	if err != nil {
		return gtid.Set{}, err
	}
	text, _ := res.Rows[0][0].(string)
	set, err := gtid.Parse(text, fl.GTIDFlavor())
	if err != nil {
		return gtid.Set{}, s.wrap("gtid_executed", fmt.Errorf("server returned %q: %w", text, err))
	}
	return set, nil
}
