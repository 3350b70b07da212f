package server

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"regexp"
	"sync"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// Server is one MySQL or MariaDB server. It is safe for concurrent use:
// statements on its session run one at a time, and Aside runs on other
// connections of its own pool so that a monitor can look at the server while
// the session waits.
type Server struct {
	cfg       Config
	connector driver.Connector
	driverLog *driverLog

	mu        sync.Mutex // guards db, fl, observer, progress, dryRun, skipped, deadlines
	db        *sql.DB
	fl        *flavor.Flavor
	observer  Observer
	progress  Progress
	dryRun    bool
	skipped   bool // a dry run skipped a change to this server: later reads are unverified
	deadlines Deadlines

	sessionMu sync.Mutex // held for the whole of a statement on the session
	session   *sql.Conn
	sessionID int64
	pinned    []SessionVar // set again on a new session while WithSession runs

	ownMu  sync.Mutex
	ownIDs map[int64]bool // connections of ours a fence must not kill (session, locks)
	// abandoned are sessions whose last statement may still run (see Settle).
	abandoned []int64

	lockMu   sync.Mutex
	readLock *heldConn // the session holding FLUSH TABLES WITH READ LOCK (LockTables)
}

// own marks a connection id as ours, or forgets it.
func (s *Server) own(id int64, mine bool) {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	if s.ownIDs == nil {
		s.ownIDs = map[int64]bool{}
	}
	if mine {
		s.ownIDs[id] = true
	} else {
		delete(s.ownIDs, id)
	}
}

func (s *Server) isOwn(id int64) bool {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	return s.ownIDs[id]
}

// New checks the configuration and returns a server that has not connected
// yet: the first statement dials.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dc, err := cfg.driverConfig()
	if err != nil {
		return nil, err
	}
	// Errors reach callers as values, the driver's logged causes within
	// them (see driverLog); no stray stderr lines.
	log := &driverLog{}
	dc.Logger = log
	connector, err := gosql.NewConnector(dc)
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", cfg.label(), err)
	}
	bounded := boundedConnector{Connector: connector, timeout: cfg.connectTimeout()}
	return &Server{cfg: cfg, connector: bounded, driverLog: log}, nil
}

// String is "db2 (127.0.0.1:3307)", or the address alone for a server
// without a name. It never includes credentials.
func (s *Server) String() string {
	if s.cfg.Name != "" && s.cfg.Name != s.cfg.Address() {
		return s.cfg.Name + " (" + s.cfg.Address() + ")"
	}
	return s.cfg.Address()
}

// Name is the deployment's name for the server, or its address.
func (s *Server) Name() string { return s.cfg.label() }

// Address is "host:port" or the socket path.
func (s *Server) Address() string { return s.cfg.Address() }

// Config returns a copy of how the server is reached.
func (s *Server) Config() Config { return s.cfg }

// maxIdle is how many idle connections the pool keeps.
const maxIdle = 2

func (s *Server) pool() *sql.DB {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		s.db = sql.OpenDB(s.connector)
		s.db.SetMaxIdleConns(maxIdle)
		s.db.SetConnMaxIdleTime(time.Minute)
	}
	return s.db
}

// Close drops the session and every pooled connection. A later statement
// connects again.
func (s *Server) Close() error {
	s.sessionMu.Lock()
	s.dropSession()
	s.sessionMu.Unlock()
	s.releaseReadLock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// openSession dials the session connection if there is none. Dial,
// greeting, authentication and the first query are bounded by the connect
// timeout. The caller holds sessionMu.
func (s *Server) openSession(ctx context.Context) error {
	if s.session != nil {
		return nil
	}
	conn, id, fl, err := s.dial(ctx)
	if err != nil {
		return s.wrap("connect", err)
	}
	if err := s.applyPinned(ctx, conn); err != nil {
		discard(conn)
		return s.wrap("connect", err)
	}
	s.session, s.sessionID = conn, id
	s.own(id, true)
	s.mu.Lock()
	s.fl = &fl
	s.mu.Unlock()
	return nil
}

// dial opens a connection of its own (not shared through the pool) and
// reads its id and the server's flavor.
func (s *Server) dial(ctx context.Context) (*sql.Conn, int64, flavor.Flavor, error) {
	timeout := s.cfg.connectTimeout()
	cctx, cancel := context.WithTimeoutCause(ctx, timeout, &DeadlineError{Kind: "connect", After: timeout})
	defer cancel()
	conn, err := s.pool().Conn(cctx)
	if err != nil {
		return nil, 0, flavor.Flavor{}, deadlineCause(ctx, cctx, err)
	}
	var id int64
	var version string
	if err := conn.QueryRowContext(cctx, "SELECT CONNECTION_ID(), @@GLOBAL.version").Scan(&id, &version); err != nil {
		discard(conn)
		return nil, 0, flavor.Flavor{}, deadlineCause(ctx, cctx, err)
	}
	fl, err := flavor.Parse(version)
	if err != nil {
		discard(conn)
		return nil, 0, flavor.Flavor{}, err
	}
	return conn, id, fl, nil
}

// discard closes a connection for good. sql.Conn.Close would put it back
// in the pool with whatever session state it has (sql_log_bin = 0, a
// lock); returning driver.ErrBadConn from Raw makes database/sql close it.
func discard(c *sql.Conn) {
	c.Raw(func(any) error { return driver.ErrBadConn })
	c.Close()
}

// dropSession forgets the session and closes its connection. The caller
// holds sessionMu.
func (s *Server) dropSession() {
	if s.session == nil {
		return
	}
	discard(s.session)
	s.own(s.sessionID, false)
	s.session, s.sessionID = nil, 0
}

// onSession runs fn on the session, connecting first if needed. When the
// context ends while fn runs, the driver closes the connection under it;
// the server may not notice for a long time, so we also send KILL QUERY
// from another connection, and the next call opens a fresh session. Locks
// and session variables of the old session are gone then, as they would be
// after any reconnect.
func (s *Server) onSession(ctx context.Context, op string, fn func(*sql.Conn) error) error {
	s.sessionMu.Lock()
	defer s.sessionMu.Unlock()
	if err := s.openSession(ctx); err != nil {
		return err
	}
	err := fn(s.session)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || isBadConn(err) {
		if ctx.Err() != nil {
			s.killQuery(s.sessionID)
		}
		s.abandon(s.sessionID)
		s.dropSession()
	}
	return s.wrap(op, err)
}

func isBadConn(err error) bool {
	return err == driver.ErrBadConn || err == gosql.ErrInvalidConn
}

// killQuery abandons a statement whose caller has gone. It gets a context
// of its own: the caller's has already ended.
func (s *Server) killQuery(id int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s.pool().ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", id))
}

// Query runs a statement that returns rows on the session. Placeholders are
// "?" and args fill them in order.
func (s *Server) Query(ctx context.Context, query string, args ...any) (*Result, error) {
	if s.dryRunning(query, args) {
		return &Result{}, nil
	}
	var res *Result
	start := time.Now()
	bctx, cancel := s.bound(ctx, query)
	defer cancel()
	err := s.onSession(bctx, "sql", func(c *sql.Conn) error {
		rows, err := c.QueryContext(bctx, query, args...)
		if err != nil {
			return deadlineCause(ctx, bctx, err)
		}
		res, err = readRows(rows)
		return deadlineCause(ctx, bctx, err)
	})
	var n int64
	if res != nil {
		n = int64(len(res.Rows))
	}
	s.observeSQL(query, args, start, n, err)
	return res, err
}

// Exec runs a statement for its effect on the session and reports the rows
// it affected.
func (s *Server) Exec(ctx context.Context, query string, args ...any) (*Result, error) {
	res := &Result{}
	if s.dryRunning(query, args) {
		return res, nil
	}
	start := time.Now()
	bctx, cancel := s.bound(ctx, query)
	defer cancel()
	err := s.onSession(bctx, "exec", func(c *sql.Conn) error {
		r, err := c.ExecContext(bctx, query, args...)
		if err != nil {
			return deadlineCause(ctx, bctx, err)
		}
		res.RowsAffected, _ = r.RowsAffected()
		res.LastInsertID, _ = r.LastInsertId()
		return nil
	})
	s.observeSQL(query, args, start, res.RowsAffected, err)
	return res, err
}

// QueryRow runs a query and returns its first row, or nil when it returned
// none.
func (s *Server) QueryRow(ctx context.Context, query string, args ...any) (Row, error) {
	res, err := s.Query(ctx, query, args...)
	if err != nil || len(res.Rows) == 0 {
		return nil, err
	}
	return res.Row(0), nil
}

// Aside runs a query on a pooled connection other than the session, so it
// can watch the server while the session is blocked (for instance on
// MASTER_GTID_WAIT).
// It is for reads: a statement ReadOnly refuses is refused in a dry run.
func (s *Server) Aside(ctx context.Context, query string, args ...any) (*Result, error) {
	if ok, why := ReadOnly(query); !ok && s.DryRun() {
		return nil, &Error{Op: "sql", Server: s.String(), Message: "dry run: not run beside the session: " + why}
	}
	bctx, cancel := s.bound(ctx, query)
	defer cancel()
	start := time.Now()
	rows, err := s.pool().QueryContext(bctx, query, args...)
	if err != nil {
		return nil, s.wrap("sql", deadlineCause(ctx, bctx, err))
	}
	res, err := readRows(rows)
	s.mu.Lock()
	unverified := s.dryRun && s.skipped
	s.mu.Unlock()
	if unverified {
		// Not audited otherwise (watchers poll often), but a dry run's plan
		// must name the reads whose answers it cannot vouch for.
		var n int64
		if res != nil {
			n = int64(len(res.Rows))
		}
		s.observeSQL(query, args, start, n, err)
	}
	return res, s.wrap("sql", deadlineCause(ctx, bctx, err))
}

var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// Variable reads a global system variable; nil when it is NULL.
func (s *Server) Variable(ctx context.Context, name string) (any, error) {
	if !variableName.MatchString(name) {
		return nil, &Error{Op: "variable", Server: s.String(), Message: fmt.Sprintf("%q is not a variable name", name)}
	}
	// A name cannot be a placeholder; it is checked above instead.
	res, err := s.Query(ctx, "SELECT @@GLOBAL."+name)
	if err != nil {
		return nil, s.wrap("variable", relabel(err, "variable"))
	}
	return res.Rows[0][0], nil
}

// relabel sets the Op of an *Error made by a lower layer to the operation
// the caller asked for.
func relabel(err error, op string) error {
	if e, ok := err.(*Error); ok {
		c := *e
		c.Op = op
		return &c
	}
	return err
}

// Flavor reports the server's product and version, connecting if needed.
func (s *Server) Flavor(ctx context.Context) (flavor.Flavor, error) {
	s.mu.Lock()
	fl := s.fl
	s.mu.Unlock()
	if fl != nil {
		return *fl, nil
	}
	err := s.onSession(ctx, "connect", func(*sql.Conn) error { return nil })
	if err != nil {
		return flavor.Flavor{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.fl, nil
}

// Ping checks that the server answers on the session.
func (s *Server) Ping(ctx context.Context) error {
	bctx, cancel := s.bound(ctx, "SELECT 1")
	defer cancel()
	return s.onSession(bctx, "ping", func(c *sql.Conn) error { return deadlineCause(ctx, bctx, c.PingContext(bctx)) })
}
