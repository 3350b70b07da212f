package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// WriterOptions say where and how a Writer writes.
type WriterOptions struct {
	// Table is "schema.table", created if missing as (seq BIGINT
	// AUTO_INCREMENT PRIMARY KEY, id BIGINT NOT NULL, KEY(id)): id is the
	// writer's own counter, so a row written twice for one id shows up.
	Table string
	// Rate is writes per second at most; 0 writes as fast as it can.
	Rate int
	// RetrySameID retries a failed write with the same id, as a client
	// that retries its transaction does (a commit reported as failed then
	// shows as a duplicate); without it every attempt takes the next id.
	RetrySameID bool
	// Addr is where to write (HAProxy's frontend, say); "" follows the
	// writable server among Servers.
	Addr string
	// Servers are host:port of every server, for Addr == "": the writer
	// writes to the one with @@read_only = 0 and looks again after a
	// failed write.
	Servers []string
	// User and Password are the application's account (a sandbox's
	// AppUser: read_only stops it). The password never reaches an error,
	// a log or String.
	User, Password string
	// Timeout bounds each connect and each read; 0 gives 500 ms to
	// connect and 2 s to read.
	Timeout time.Duration
}

// GoString is String: %#v must not print the password either.
func (o WriterOptions) GoString() string { return o.String() }

// String describes the options without the password.
func (o WriterOptions) String() string {
	where := o.Addr
	if where == "" {
		where = "writable among " + strings.Join(o.Servers, ", ")
	}
	return fmt.Sprintf("writer{table %s, rate %d, retry same id %t, %s, user %s}", o.Table, o.Rate, o.RetrySameID, where, o.User)
}

// WriterReport is what a Writer saw, and what the final server holds.
type WriterReport struct {
	Acked      int           // acknowledged writes
	Failed     int           // writes that returned an error (some may have committed)
	Lost       []int64       // acknowledged ids missing on the final server, ascending
	Duplicated []int64       // ids present more than once there, ascending
	MaxGap     time.Duration // the largest time between two consecutive acknowledged writes
	Server     string        // where the final check read: Addr, or the writable server among Servers
	ServerID   int           // @@server_id of the server that answered it (behind a proxy: which one)
}

// finalWait bounds how long Stop waits for a writable server.
const finalWait = 10 * time.Second

// setupTimeout bounds each statement of StartWriter's table creation.
const setupTimeout = 10 * time.Second

// Writer writes rows continuously, one at a time on one connection, and
// remembers which the server acknowledged.
type Writer struct {
	o          WriterOptions
	table      string // quoted
	firstID    int64  // ids below it were in the table before this writer
	connect    time.Duration
	read       time.Duration
	dbs        map[string]*sql.DB // by address; only the loop (then Stop) uses them
	probing    []bool             // by index in Servers: a probe's answer is not yet read
	pending    int                // probes whose answer is not yet read
	results    chan probed
	target     string // where writes go now; "" while no server is writable
	stop, done chan struct{}

	mu     sync.Mutex
	acked  []int64
	ackAt  []time.Time // when each was acknowledged, ascending
	failAt []time.Time // when each write failed, ascending
	maxGap time.Duration

	stopOnce sync.Once
	report   WriterReport
	stopErr  error
}

// StartWriter creates the table (through Addr, or on the writable
// server), writes the first row, which must be acknowledged, and goes on
// writing until Stop or until ctx is done.
func StartWriter(ctx context.Context, o WriterOptions) (*Writer, error) {
	schema, table, ok := strings.Cut(o.Table, ".")
	if !ok || schema == "" || table == "" || strings.Contains(table, ".") {
		return nil, fmt.Errorf("writer: table %q: want schema.table", o.Table)
	}
	if o.Addr == "" && len(o.Servers) == 0 {
		return nil, errors.New("writer: no Addr and no Servers: nowhere to write")
	}
	if o.Rate < 0 {
		return nil, fmt.Errorf("writer: rate %d: want >= 0", o.Rate)
	}
	w := &Writer{o: o, table: flavor.QuoteIdentifier(schema) + "." + flavor.QuoteIdentifier(table),
		connect: 500 * time.Millisecond, read: 2 * time.Second, dbs: map[string]*sql.DB{},
		probing: make([]bool, len(o.Servers)), results: make(chan probed, len(o.Servers)),
		stop: make(chan struct{}), done: make(chan struct{})}
	if o.Timeout > 0 {
		w.connect, w.read = o.Timeout, o.Timeout
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	if err := w.setup(ctx, schema); err != nil {
		w.closeAll()
		return nil, err
	}
	go w.loop(ctx, w.firstID+1)
	return w, nil
}

// setup finds the target, creates the table and writes the first row.
func (w *Writer) setup(ctx context.Context, schema string) error {
	w.target = w.o.Addr
	// A slow server's answer may take more than one lookup: wait for it
	// while some probe runs (each ends within connect+read).
	for w.target == "" {
		var err error
		if w.target, err = w.findWritable(ctx); err != nil && w.pending == 0 {
			return fmt.Errorf("writer: %w", err)
		}
	}
	// The DDL on a connection of its own, with room: a per-write Timeout
	// short enough to catch a stall is too short for CREATE TABLE on a
	// loaded machine.
	db, err := w.pool(w.target, setupTimeout)
	if err != nil {
		return err
	}
	defer db.Close()
	qctx, cancel := context.WithTimeout(ctx, w.connect+setupTimeout)
	defer cancel()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + flavor.QuoteIdentifier(schema),
		"CREATE TABLE IF NOT EXISTS " + w.table + " (seq BIGINT AUTO_INCREMENT PRIMARY KEY, id BIGINT NOT NULL, KEY(id))",
	} {
		if _, err := db.ExecContext(qctx, q); err != nil {
			return fmt.Errorf("writer: %s: %s: %w", w.target, q, err)
		}
	}
	// A table kept from an earlier run: this writer's ids start above its.
	if err := db.QueryRowContext(qctx, "SELECT COALESCE(MAX(id), 0) FROM "+w.table).Scan(&w.firstID); err != nil {
		return fmt.Errorf("writer: %s: the largest id in %s: %w", w.target, w.o.Table, err)
	}
	w.firstID++
	if err := w.insert(ctx, w.firstID); err != nil {
		return fmt.Errorf("writer: the first write: %w", err)
	}
	w.ack(w.firstID, time.Now())
	return nil
}

// open makes the pool of every address it may write to or read from: one
// connection each at most, so that writes go one at a time.
func (w *Writer) open() error {
	for _, addr := range append([]string{w.o.Addr}, w.o.Servers...) {
		if _, ok := w.dbs[addr]; ok || addr == "" {
			continue
		}
		db, err := w.pool(addr, w.read)
		if err != nil {
			return err
		}
		w.dbs[addr] = db
	}
	return nil
}

func (w *Writer) pool(addr string, read time.Duration) (*sql.DB, error) {
	cfg := gosql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = w.o.User, w.o.Password, "tcp", addr
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = w.connect, read, read
	cfg.Logger = &gosql.NopLogger{}
	conn, err := gosql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("writer: %s: %w", addr, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db, nil
}

func (w *Writer) db(addr string) *sql.DB { return w.dbs[addr] }

func (w *Writer) exec(ctx context.Context, db *sql.DB, q string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, w.connect+w.read)
	defer cancel()
	_, err := db.ExecContext(ctx, q, args...)
	return err
}

func (w *Writer) insert(ctx context.Context, id int64) error {
	if err := w.exec(ctx, w.db(w.target), "INSERT INTO "+w.table+" (id) VALUES (?)", id); err != nil {
		return fmt.Errorf("%s: insert id %d: %w", w.target, id, err)
	}
	return nil
}

// dropConnection closes the target's idle connection: one that saw an
// error other than a broken connection (read_only's 1290) may still lead
// to the old server behind a proxy; a new one goes where it routes now.
func (w *Writer) dropConnection(addr string) {
	if db, ok := w.dbs[addr]; ok {
		db.SetMaxIdleConns(0)
		db.SetMaxIdleConns(1)
	}
}

func (w *Writer) ack(id int64, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.ackAt); n > 0 && at.Sub(w.ackAt[n-1]) > w.maxGap {
		w.maxGap = at.Sub(w.ackAt[n-1])
	}
	w.acked, w.ackAt = append(w.acked, id), append(w.ackAt, at)
}

func (w *Writer) loop(ctx context.Context, id int64) {
	defer close(w.done)
	var interval time.Duration
	if w.o.Rate > 0 {
		interval = time.Second / time.Duration(w.o.Rate)
	}
	next := time.Now().Add(interval)
	for {
		if !w.pause(ctx, time.Until(next)) {
			return
		}
		if interval > 0 {
			// At most Rate a second: a slow write is not made up for.
			if next = next.Add(interval); next.Before(time.Now()) {
				next = time.Now()
			}
		}
		if w.target == "" {
			w.target, _ = w.findWritable(ctx)
			if w.target == "" && !w.pause(ctx, 5*time.Millisecond) {
				return
			}
			continue
		}
		err := w.insert(ctx, id)
		if err == nil {
			w.ack(id, time.Now())
			id++
			continue
		}
		w.mu.Lock()
		w.failAt = append(w.failAt, time.Now())
		w.mu.Unlock()
		if !w.o.RetrySameID {
			id++ // a fresh id per attempt: a duplicate can only come from a server
		}
		w.dropConnection(w.target)
		if w.o.Addr == "" {
			w.target = "" // look again
		} else if !w.pause(ctx, time.Millisecond) { // a refused connect fails at once: no busy loop
			return
		}
	}
}

// pause waits d, and says false when the writer is to stop.
func (w *Writer) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-w.stop:
			return false
		case <-ctx.Done():
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.stop:
		return false
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Acked is the number of writes acknowledged so far.
func (w *Writer) Acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// Failed is the number of writes that returned an error so far.
func (w *Writer) Failed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.failAt)
}

// FirstAckAfterFailure is when the first write acknowledged after the
// first failure at or after since was acknowledged: how long after a
// fault at since a client that saw it wrote again. False while there is
// no such write.
func (w *Writer) FirstAckAfterFailure(since time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := sort.Search(len(w.failAt), func(i int) bool { return !w.failAt[i].Before(since) })
	if f == len(w.failAt) {
		return time.Time{}, false
	}
	a := sort.Search(len(w.ackAt), func(i int) bool { return w.ackAt[i].After(w.failAt[f]) })
	if a == len(w.ackAt) {
		return time.Time{}, false
	}
	return w.ackAt[a], true
}

// Stop stops writing, then reads every id on the final server: through
// Addr, or on the writable server among Servers, waiting up to 10 s (less
// if ctx ends sooner) for exactly one to be writable. Without one, or with
// more than one, it returns the counts it has and an error saying so. A
// second call returns the same.
func (w *Writer) Stop(ctx context.Context) (WriterReport, error) {
	w.stopOnce.Do(func() {
		close(w.stop)
		<-w.done
		defer w.closeAll()
		w.mu.Lock()
		w.report = WriterReport{Acked: len(w.acked), Failed: len(w.failAt), MaxGap: w.maxGap}
		w.mu.Unlock()
		w.stopErr = w.check(ctx, &w.report)
	})
	return w.report, w.stopErr
}

// check fills the report's Lost, Duplicated, Server and ServerID.
func (w *Writer) check(ctx context.Context, r *WriterReport) error {
	wctx, cancel := context.WithTimeout(ctx, finalWait)
	defer cancel()
	db, conn, addr, err := w.finalServer(wctx)
	if err != nil {
		return fmt.Errorf("writer: the final check: %w", err)
	}
	defer db.Close()
	defer conn.Close()
	ctx, cancel = context.WithTimeout(ctx, time.Minute) // reading every id
	defer cancel()
	r.Server = addr
	if err := conn.QueryRowContext(ctx, "SELECT @@server_id").Scan(&r.ServerID); err != nil {
		return fmt.Errorf("writer: the final check: %s: %w", addr, err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT id, COUNT(*) FROM "+w.table+" WHERE id >= ? GROUP BY id", w.firstID)
	if err != nil {
		return fmt.Errorf("writer: the final check: %s: %w", addr, err)
	}
	defer rows.Close()
	present := map[int64]bool{}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return fmt.Errorf("writer: the final check: %s: %w", addr, err)
		}
		present[id] = true
		if n > 1 {
			r.Duplicated = append(r.Duplicated, id)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("writer: the final check: %s: %w", addr, err)
	}
	for _, id := range w.acked {
		if !present[id] {
			r.Lost = append(r.Lost, id)
		}
	}
	sort.Slice(r.Lost, func(i, j int) bool { return r.Lost[i] < r.Lost[j] })
	sort.Slice(r.Duplicated, func(i, j int) bool { return r.Duplicated[i] < r.Duplicated[j] })
	return nil
}

// finalServer waits for a writable server and returns a connection to it:
// one connection, so that behind a proxy the read_only check and the read
// reach the same server.
func (w *Writer) finalServer(ctx context.Context) (*sql.DB, *sql.Conn, string, error) {
	var last error
	began := time.Now()
	for {
		db, conn, addr, err := w.writableConn(ctx)
		if err == nil {
			return db, conn, addr, nil
		}
		if last == nil || ctx.Err() == nil {
			last = err // not the answers cut short by the end of the wait
		}
		select {
		case <-ctx.Done():
			return nil, nil, "", fmt.Errorf("%w, after waiting %s", last, time.Since(began).Round(100*time.Millisecond))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// writableConn is a new connection to the one writable server. Its pool
// has a long read timeout: reading every id may take longer than a write.
// The writable servers are asked with the short one, so that a stopped
// server does not hold up the answer of the others.
func (w *Writer) writableConn(ctx context.Context) (*sql.DB, *sql.Conn, string, error) {
	addr := w.o.Addr
	if addr == "" {
		found, err := w.writableServers(ctx)
		if err != nil {
			return nil, nil, "", err
		}
		// Two primaries: which one's rows count is not the writer's to
		// choose, and a test must see it.
		if len(found) > 1 {
			return nil, nil, "", fmt.Errorf("more than one writable server: %s", strings.Join(found, ", "))
		}
		addr = found[0]
	}
	db, err := w.pool(addr, setupTimeout)
	if err != nil {
		return nil, nil, "", err
	}
	qctx, cancel := context.WithTimeout(ctx, w.connect+w.read)
	defer cancel()
	conn, err := db.Conn(qctx)
	if err != nil {
		db.Close()
		return nil, nil, "", fmt.Errorf("no writable server: %s: %w", addr, err)
	}
	var ro int
	if err := conn.QueryRowContext(qctx, "SELECT @@read_only").Scan(&ro); err != nil || ro != 0 {
		conn.Close()
		db.Close()
		if err == nil {
			err = errors.New("read_only=1")
		}
		return nil, nil, "", fmt.Errorf("no writable server: %s: %w", addr, err)
	}
	return db, conn, addr, nil
}

func (w *Writer) closeAll() {
	for _, db := range w.dbs {
		db.Close()
	}
}
