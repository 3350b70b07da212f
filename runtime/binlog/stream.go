package binlog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// streamReader receives events over the replication protocol. go-mysql's
// BinlogSyncer runs one goroutine that reads the connection and fills a
// channel; Close cancels it, unblocks its read (a read deadline), KILLs
// the dump connection from a second connection and waits for the
// goroutine, so nothing of the reader outlives Close.
type streamReader struct {
	sv      *server.Server
	fl      gtid.Flavor
	opts    Options
	id      uint32      // the server_id the dump registers with
	tls     *tls.Config // nil: plain
	syncer  *replication.BinlogSyncer
	st      *replication.BinlogStreamer
	conv    converter
	queue   []Event
	end     gtid.Position // where the log ended at Open; zero when following
	once    sync.Once
	stopped chan struct{} // closed when Close has finished

	// Where a new dump resumes after a lost connection (Options.Reconnect):
	// resumeAt follows the last event returned; txStart is the GTID event
	// of the transaction txn says is open.
	txn      txnTracker
	txStart  gtid.Position
	resumeAt gtid.Position
}

const (
	// streamHeartbeat asks the server for a heartbeat event when it has
	// had nothing to send for that long, and streamReadTimeout gives up on
	// a connection that sent nothing, not even a heartbeat, for that long
	// (a dead network). A reader that does not follow learns from a
	// heartbeat that it has read everything (see Next), so it asks sooner.
	streamHeartbeat      = 5 * time.Second
	streamHeartbeatAtEnd = 500 * time.Millisecond
	streamReadTimeout    = 30 * time.Second
	// streamBuffer bounds how many decoded events the syncer's goroutine
	// reads ahead of Next (go-mysql's default is 10240).
	streamBuffer = 256
)

// openStream registers with sv as a replica and starts the dump at start,
// or after o.After when start is zero. A non-zero end is where the log
// ended at Open; see Next.
func openStream(ctx context.Context, sv *server.Server, fl gtid.Flavor, start, end gtid.Position, o Options) (Reader, error) {
	tc, err := streamTLS(ctx, sv)
	if err != nil {
		return nil, err
	}
	if start.Pos > math.MaxUint32 {
		return nil, opError(sv, "binlog_events", fmt.Errorf("start position %s: beyond 4 GiB, which COM_BINLOG_DUMP cannot express", start))
	}
	id, err := pickServerID(ctx, sv, o.ServerID)
	if err != nil {
		return nil, err
	}
	r := &streamReader{sv: sv, fl: fl, opts: o, id: id, tls: tc, stopped: make(chan struct{}), end: end,
		conv: converter{file: start.File, start: start, tables: map[uint64]string{}}}
	if err := r.dial(ctx, start); err != nil {
		if ctx.Err() != nil {
			return nil, ctxError(sv, ctx)
		}
		return nil, streamError(sv, "starting the replication stream", err)
	}
	return r, nil
}

// dial registers with the server and starts the dump at start, or after
// the GTID position Options.After when start is zero.
func (r *streamReader) dial(ctx context.Context, start gtid.Position) error {
	guard := &dialGuard{tls: r.tls != nil}
	sc := syncerConfig(r.sv.Config(), r.fl, r.id, r.opts, guard)
	sc.TLSConfig = r.tls
	if !r.end.IsZero() {
		sc.HeartbeatPeriod = streamHeartbeatAtEnd
	}
	syncer := replication.NewBinlogSyncer(sc)
	st, err := guard.start(ctx, syncer, func() (*replication.BinlogStreamer, error) {
		if start.IsZero() {
			set, err := gomysql.ParseGTIDSet(string(r.fl), r.opts.After.String())
			if err != nil {
				return nil, err
			}
			return syncer.StartSyncGTID(set)
		}
		return syncer.StartSync(gomysql.Position{Name: start.File, Pos: uint32(start.Pos)})
	})
	if err != nil {
		return err
	}
	r.syncer, r.st = syncer, st
	return nil
}

// returned records ev as given to the caller, for a resume.
func (r *streamReader) returned(ev Event) {
	r.txn.observe(&ev) // a copy: observe fills in GTIDs
	if ev.Type == "gtid" || ev.Type == "anonymous_gtid" {
		r.txStart = ev.Position()
	}
	r.resumeAt = gtid.Position{File: ev.File, Pos: ev.EndPos}
	if ev.Type == "rotate" && ev.NextFile != "" {
		r.resumeAt = gtid.Position{File: ev.NextFile, Pos: max(ev.NextPos, 4)}
	}
}

// reconnect replaces a lost dump connection with a new one, trying every
// second for up to Options.Reconnect. The new dump starts at the open
// transaction's GTID event (its row events need their Table_map, which
// came after it) or after the last event returned; the converter drops
// what the caller already has.
func (r *streamReader) reconnect(ctx context.Context, cause error) error {
	r.syncer.Close()
	from := r.resumeAt
	if r.txn.open {
		from = r.txStart
	}
	if from.IsZero() {
		from = r.conv.start // nothing returned yet; zero again means "after Options.After"
	}
	deadline := time.Now().Add(r.opts.Reconnect)
	for {
		if sleep(ctx, reconnectInterval) != nil {
			return ctxError(r.sv, ctx)
		}
		err := r.dial(ctx, from)
		if err == nil {
			r.conv = converter{file: from.File, start: from, tables: map[uint64]string{},
				skipFile: r.resumeAt.File, skipBefore: r.resumeAt.Pos}
			return nil
		}
		if ctx.Err() != nil {
			return ctxError(r.sv, ctx)
		}
		if serverAnswered(err) || time.Now().After(deadline) {
			return streamError(r.sv, fmt.Sprintf("lost the connection at %s (%v); reconnecting for %s", r.conv.where(), cause,
				r.opts.Reconnect), err)
		}
	}
}

// streamTLS is the stream's TLS configuration: the server's own (the
// deployment's tls settings, verified the same way as its SQL session).
// go-mysql has no plain-text fallback, so for "preferred" the server is
// asked whether it offers TLS at all (the flavor knows how: MySQL 8.4 has
// no have_ssl).
func streamTLS(ctx context.Context, sv *server.Server) (*tls.Config, error) {
	tc, preferred, err := sv.Config().ClientTLS()
	if err != nil || tc == nil || !preferred {
		return tc, err
	}
	fl, err := sv.Flavor(ctx)
	if err != nil {
		return nil, err
	}
	row, err := sv.QueryRow(ctx, fl.TLSOfferedQuery())
	if err != nil {
		return tc, nil // no such variable or table (performance_schema off): try TLS
	}
	if v, _ := row["tls_offered"].(string); !flavor.TLSOffered(v) {
		return nil, nil
	}
	return tc, nil
}

func syncerConfig(cfg server.Config, fl gtid.Flavor, id uint32, o Options, guard *dialGuard) replication.BinlogSyncerConfig {
	host := o.ReportHost
	if host == "" {
		host = DefaultReportHost
	}
	port := cfg.Port
	if port == 0 {
		port = server.DefaultPort
	}
	sc := replication.BinlogSyncerConfig{
		ServerID:        id,
		Flavor:          string(fl), // "mysql" or "mariadb", go-mysql's names too
		Host:            cfg.Host,
		Port:            uint16(port),
		User:            cfg.User,
		Password:        cfg.Password.Reveal(),
		Localhost:       host,
		HeartbeatPeriod: streamHeartbeat,
		ReadTimeout:     streamReadTimeout,
		// A broken connection is an error for the caller, not a silent
		// reconnect from a position go-mysql guesses.
		DisableRetrySync: true,
		DiscardGTIDSet:   true,
		EventCacheCount:  streamBuffer,
		// go-mysql logs the configuration (password blanked) and every
		// reconnect; none of it is for our users.
		Logger:              slog.New(slog.DiscardHandler),
		Dialer:              guard.dial(cfg),
		RowsEventDecodeFunc: decodeRows,
	}
	if fl == gtid.MariaDB {
		// Without this flag MariaDB leaves out Annotate_rows events
		// (the statement behind row events), which SHOW BINLOG EVENTS
		// shows, and positions would differ between the readers.
		sc.DumpCommandFlag = replication.BINLOG_SEND_ANNOTATE_ROWS_EVENT
	}
	return sc
}

// decodeRows decodes a row event, and leaves Rows nil instead of failing
// the stream when its Table_map was not received (the stream started
// between the two) or a value does not decode: the count is then unknown,
// and the events around it are still worth reading.
func decodeRows(re *replication.RowsEvent, data []byte) error {
	pos, err := re.DecodeHeader(data)
	if err == nil {
		err = re.DecodeData(pos, data)
	}
	if err != nil {
		re.Rows = nil
	}
	return nil
}

// pickServerID returns want, or a random server_id in the upper half of
// the range that neither sv nor any replica registered with it uses. Two
// connections with one server_id make the primary kill the older one's
// dump thread, which would disconnect a real replica.
func pickServerID(ctx context.Context, sv *server.Server, want uint32) (uint32, error) {
	if want != 0 {
		return want, nil
	}
	used := map[uint64]bool{}
	if v, err := sv.Variable(ctx, "server_id"); err == nil {
		if n, ok := asUint(v); ok {
			used[n] = true
		}
	}
	// SHOW SLAVE HOSTS needs REPLICATION MASTER ADMIN on MariaDB; without
	// it the random pick alone has to do.
	if fl, err := sv.Flavor(ctx); err == nil {
		if res, err := sv.Query(ctx, fl.ShowReplicasQuery()); err == nil {
			for i := range res.Rows {
				if h, err := flavor.ParseReplicaHost(res.Row(i)); err == nil {
					used[h.ServerID] = true
				}
			}
		}
	}
	for {
		id := uint32(1<<31 + rand.Uint32N(1<<31-1))
		if !used[uint64(id)] {
			return id, nil
		}
	}
}

// serverAnswered tells an error the server sent (a purged log, a missing
// privilege: no use retrying) from a lost or refused connection.
func serverAnswered(err error) bool {
	var me *gomysql.MyError
	return errors.As(err, &me)
}

// streamError reports a failure of go-mysql with the server's error code
// when the server sent one.
func streamError(sv *server.Server, doing string, err error) error {
	e := &server.Error{Op: "binlog_events", Server: sv.String(), Message: doing + ": " + err.Error(), Err: err}
	var me *gomysql.MyError
	if errors.As(err, &me) {
		e.Code, e.SQLState, e.Message = int(me.Code), me.State, doing+": "+me.Message
	}
	return e
}

func (r *streamReader) Next(ctx context.Context) (Event, error) {
	for len(r.queue) == 0 {
		select {
		case <-r.stopped:
			return Event{}, io.EOF
		default:
		}
		be, err := r.st.GetEvent(ctx)
		if err != nil && r.opts.Reconnect > 0 && ctx.Err() == nil && !serverAnswered(err) {
			err = r.reconnect(ctx, err)
			if err == nil {
				continue
			}
			r.Close()
			return Event{}, err
		}
		if err != nil {
			r.Close()
			if ctx.Err() != nil {
				return Event{}, ctxError(r.sv, ctx)
			}
			return Event{}, streamError(r.sv, "reading "+r.conv.where(), err)
		}
		if err := r.conv.add(be, &r.queue); err != nil {
			r.Close()
			return Event{}, opError(r.sv, "binlog_events", err)
		}
		if len(r.queue) == 0 && r.atEnd() {
			r.Close()
			return Event{}, io.EOF
		}
	}
	ev := r.queue[0]
	r.queue = r.queue[1:]
	r.returned(ev)
	return ev, nil
}

// atEnd reports whether the server, idle, said in a heartbeat that it has
// sent everything up to r.end. Without it a reader started after a GTID
// position that is already at the end would wait for an event that the
// limits could stop at, forever: the server sends heartbeats, not EOF,
// when it has nothing more (MariaDB 10.11: a HEARTBEAT_LOG_EVENT whose
// header log_pos is the dump thread's position in the file it names).
func (r *streamReader) atEnd() bool {
	hb := r.conv.heartbeat
	if r.end.IsZero() || hb.IsZero() {
		return false
	}
	c, err := hb.Compare(r.end)
	return err == nil && c >= 0
}

// Close stops the syncer and waits for its goroutine. Calls after the
// first wait for the first to finish.
func (r *streamReader) Close() error {
	r.once.Do(func() {
		r.syncer.Close()
		close(r.stopped)
	})
	<-r.stopped
	return nil
}

// dialGuard dials the syncer's connections and, while the syncer starts,
// ties them to the caller's context: go-mysql's StartSync takes no
// context and would otherwise wait out its own 10 s connect timeout, or a
// silent server, after the caller gave up.
type dialGuard struct {
	mu       sync.Mutex
	conns    []net.Conn
	starting bool
	tls      bool // the connections carry TLS: no clear-text COM_QUIT on them
}

func (g *dialGuard) dial(cfg server.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		if cfg.Socket != "" {
			network, addr = "unix", cfg.Socket
		}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if !g.starting && !g.tls {
			return quitOnClose{c}, nil // the connection Close opens to KILL the dump
		}
		g.conns = append(g.conns, c)
		return c, nil
	}
}

// quitOnClose says goodbye before closing. go-mysql closes the connection
// it opens to KILL the dump thread without COM_QUIT, and the server then
// logs "Aborted connection … (Got an error reading communication packets)"
// (10.11, log_warnings=2) and counts it in Aborted_clients, which
// operators watch. The packet is written in the clear, so only on plain
// connections (go-mysql does not compress unless asked); over TLS the
// server logs the aborted connection.
type quitOnClose struct{ net.Conn }

func (c quitOnClose) Close() error {
	c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	c.Conn.Write([]byte{1, 0, 0, 0, 1}) // payload length 1, sequence 0, COM_QUIT
	return c.Conn.Close()
}

func (g *dialGuard) start(ctx context.Context, syncer *replication.BinlogSyncer, fn func() (*replication.BinlogStreamer, error)) (*replication.BinlogStreamer, error) {
	g.mu.Lock()
	g.starting = true
	g.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, c := range g.conns {
			c.SetDeadline(time.Unix(1, 0)) // fails every pending and later read and write
		}
	})
	st, err := fn()
	g.mu.Lock()
	g.starting, g.conns = false, nil
	g.mu.Unlock()
	if !stop() || err != nil {
		// The context ended while starting (its deadline may have hit the
		// stream connection), or the start failed: either way the syncer
		// is of no more use.
		syncer.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	}
	return st, nil
}
