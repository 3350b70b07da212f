package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// execFlavor builds a statement for this server's flavor and runs it on
// the session. A failure names op; a statement that may hold a password
// never reaches an error or a log.
func (s *Server) execFlavor(ctx context.Context, op string, build func(flavor.Flavor) (string, error)) error {
	fl, err := s.Flavor(ctx)
	if err != nil {
		return relabel(err, op)
	}
	stmt, err := build(fl)
	if err != nil {
		return &Error{Op: op, Server: s.String(), Message: err.Error(), Err: err}
	}
	_, err = s.Exec(ctx, stmt)
	return relabel(err, op)
}

// ChangeSource points the replica at a source. The replica threads must
// be stopped first (the server says so otherwise).
func (s *Server) ChangeSource(ctx context.Context, opts flavor.ChangeSourceOptions) error {
	fl, err := s.Flavor(ctx)
	if err != nil {
		return relabel(err, "change_source")
	}
	change := func() error {
		for _, stmt := range fl.DemoteStatements(&opts) {
			if _, err := s.Exec(ctx, stmt); err != nil {
				return relabel(err, "change_source")
			}
		}
		return s.execFlavor(ctx, "change_source", func(f flavor.Flavor) (string, error) { return f.ChangeSource(opts) })
	}
	// The statement's literals are quoted for the default sql_mode; a
	// script may have set NO_BACKSLASH_ESCAPES on the session. It gets its
	// sql_mode back afterwards.
	row, err := s.QueryRow(ctx, "SELECT @@SESSION.sql_mode AS m")
	if err != nil {
		return relabel(err, "change_source")
	}
	mode, _ := row["m"].(string)
	if !hasMode(mode, "NO_BACKSLASH_ESCAPES") {
		return change()
	}
	err = s.WithSession(ctx, []SessionVar{{Name: "sql_mode", Value: withoutMode(mode, "NO_BACKSLASH_ESCAPES")}}, change)
	return relabel(err, "change_source")
}

func hasMode(modes, m string) bool {
	for _, x := range strings.Split(modes, ",") {
		if strings.EqualFold(x, m) {
			return true
		}
	}
	return false
}

func withoutMode(modes, m string) string {
	var keep []string
	for _, x := range strings.Split(modes, ",") {
		if x != "" && !strings.EqualFold(x, m) {
			keep = append(keep, x)
		}
	}
	return strings.Join(keep, ",")
}

// StartReplica starts the given replication threads.
func (s *Server) StartReplica(ctx context.Context, t flavor.Threads) error {
	return s.execFlavor(ctx, "start_replica", func(f flavor.Flavor) (string, error) { return f.StartReplica(t), nil })
}

// StopReplica stops the given replication threads.
func (s *Server) StopReplica(ctx context.Context, t flavor.Threads) error {
	return s.execFlavor(ctx, "stop_replica", func(f flavor.Flavor) (string, error) { return f.StopReplica(t), nil })
}

// ResetReplica forgets the relay logs and position; with all, the source too.
func (s *Server) ResetReplica(ctx context.Context, all bool) error {
	return s.execFlavor(ctx, "reset_replica", func(f flavor.Flavor) (string, error) { return f.ResetReplica(all), nil })
}

// StartReplicaUntil starts the applier (and receiver) until a position or
// GTID set, after which the SQL thread stops by itself.
func (s *Server) StartReplicaUntil(ctx context.Context, t flavor.Threads, u flavor.Until) error {
	return s.execFlavor(ctx, "start_replica", func(f flavor.Flavor) (string, error) { return f.StartReplicaUntil(t, u) })
}

// SetReadOnly sets the write fence.
func (s *Server) SetReadOnly(ctx context.Context, m flavor.ReadOnly) error {
	return s.SetReadOnlyWithin(ctx, m, 0)
}

// SetReadOnlyWithin sets the write fence with a server-side limit d on the
// statement where the flavor has one (flavor.Bounded): while SET GLOBAL
// read_only waits for the global read lock, new writes queue behind it,
// so a fence bounds that wait and tries again rather than block writers
// for lock_wait_timeout's whole seconds. d = 0: no limit.
func (s *Server) SetReadOnlyWithin(ctx context.Context, m flavor.ReadOnly, d time.Duration) error {
	return s.execFlavor(ctx, "set_read_only", func(f flavor.Flavor) (string, error) {
		stmt, err := f.SetReadOnly(m)
		if err != nil {
			return "", err
		}
		stmt, _ = f.Bounded(stmt, d)
		return stmt, nil
	})
}

// Connection is a client session as the process list shows it.
type Connection struct {
	ID      uint64
	User    string
	Host    string
	DB      string
	Command string
	Time    int64
	State   string
	Info    string
}

// ClientConnections lists the sessions that could still write: every one
// but ours, the server's own threads and the dump threads feeding replicas.
func (s *Server) ClientConnections(ctx context.Context) ([]Connection, error) {
	res, _, err := s.query(ctx, "kill_connections", flavor.Flavor.ClientConnectionsQuery)
	if err != nil {
		return nil, err
	}
	conns := make([]Connection, 0, len(res.Rows))
	for i := range res.Rows {
		r := res.Row(i)
		id, err := toUint(r["ID"])
		if err != nil {
			return nil, s.wrap("kill_connections", fmt.Errorf("process list ID: %w", err))
		}
		if s.isOwn(int64(id)) {
			continue
		}
		c := Connection{ID: id}
		c.User, _ = r["USER"].(string)
		c.Host, _ = r["HOST"].(string)
		c.DB, _ = r["DB"].(string)
		c.Command, _ = r["COMMAND"].(string)
		c.Time, _ = r["TIME"].(int64)
		c.State, _ = r["STATE"].(string)
		c.Info, _ = r["INFO"].(string)
		conns = append(conns, c)
	}
	return conns, nil
}

// errUnknownThread is ER_NO_SUCH_THREAD: the connection ended by itself
// between the listing and the kill, which is what we wanted anyway.
const errUnknownThread = 1094

// KillConnection ends one session, rolling back its open transaction.
func (s *Server) KillConnection(ctx context.Context, id uint64) error {
	err := s.execFlavor(ctx, "kill_connections", func(f flavor.Flavor) (string, error) { return f.KillConnection(id), nil })
	var e *Error
	if errors.As(err, &e) && e.Code == errUnknownThread {
		return nil
	}
	if err == nil {
		s.dropIdle()
	}
	return err
}

// dropIdle closes the pool's idle connections. After a KILL one of them
// may be the victim: the server ends a killed connection after KILL has
// returned, so one taken from the pool at once can pass the driver's
// liveness check and die under its next statement. Seen through a TCP
// proxy, where the close reaches the tool later: a switchover's FLUSH
// TABLES WITH READ LOCK, on a connection the fence had just killed, got
// "invalid connection (unexpected EOF)".
func (s *Server) dropIdle() {
	s.mu.Lock()
	db := s.db
	s.mu.Unlock()
	if db != nil {
		db.SetMaxIdleConns(0) // closes the idle ones
		db.SetMaxIdleConns(maxIdle)
	}
}

func toUint(v any) (uint64, error) {
	switch x := v.(type) {
	case int64:
		if x >= 0 {
			return uint64(x), nil
		}
	case uint64:
		return x, nil
	}
	return 0, fmt.Errorf("unexpected %v (%T)", v, v)
}

// SetVariable sets a global variable; persist keeps it across restarts
// where the server can (MySQL 8.0+).
func (s *Server) SetVariable(ctx context.Context, name string, value any, persist bool) error {
	fl, err := s.Flavor(ctx)
	if err != nil {
		return relabel(err, "set_variable")
	}
	stmt, err := fl.SetVariable(name, persist)
	if err != nil {
		return &Error{Op: "set_variable", Server: s.String(), Message: err.Error(), Err: err}
	}
	_, err = s.Exec(ctx, stmt, value)
	return relabel(err, "set_variable")
}
