package binlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Reader yields a server's binary log events in order.
type Reader interface {
	// Next returns the next event; io.EOF once the reader reached its
	// limit, its To bound, or (without Follow) the end of the log as it
	// was at Open. Any other error, including the end of ctx, also closes
	// the reader: the stream reader's connection and goroutine are gone
	// when Next returns.
	Next(ctx context.Context) (Event, error)
	// Close releases the reader; it may be called more than once, and
	// from another goroutine than the one in Next.
	Close() error
}

// Kind picks a reader.
type Kind string

const (
	ReaderShow   Kind = "show"   // SHOW BINLOG EVENTS, paged
	ReaderStream Kind = "stream" // the replication protocol (go-mysql)
)

// Defaults of Options.
const (
	DefaultPageSize     = 500
	DefaultPollInterval = 250 * time.Millisecond
	DefaultReportHost   = "replicant-lua"
)

// Options of Open. The zero value reads every event of every binary log
// with ReaderShow and stops at the end.
type Options struct {
	Reader Kind // ReaderShow when empty

	From     gtid.Position // first event; zero: the first event of the oldest log
	FromGTID gtid.Set      // or: the GTID event of this transaction (one GTID), located first
	After    gtid.Set      // or (ReaderStream only): what a replica at this GTID position would receive

	To     gtid.Position // stop before the first event at or past To
	ToGTID gtid.Set      // stop after the last event of this transaction (one GTID)
	Limit  int           // at most this many events; 0: no limit
	Follow bool          // at the end of the log wait for new events

	// ReaderStream: the server_id and report_host to register with. Zero
	// ServerID picks a random unused one in [2^31, 2^32-2]; the server
	// lists the connection in SHOW SLAVE HOSTS under ReportHost
	// ("replicant-lua" when empty).
	ServerID   uint32
	ReportHost string

	// ReaderShow: rows per SHOW BINLOG EVENTS, and how often to look for
	// new events when following.
	PageSize     int
	PollInterval time.Duration

	// Reconnect, when positive, is how long a reader that lost its
	// connection (the server restarted, the network dropped) keeps trying
	// to reconnect, once a second, before it fails. It resumes where it
	// was: no event is skipped and none is returned twice (the stream
	// reader restarts the dump at the open transaction's GTID event, so
	// that row events find their Table_map again, and drops what it had
	// already returned). A server error (a purged log, a missing
	// privilege) fails at once.
	Reconnect time.Duration
}

// reconnectInterval is the pause between attempts to reconnect.
const reconnectInterval = time.Second

// Open starts reading sv's binary logs. It checks the options and the
// start position on the server first, so that a bad position fails here,
// naming the server and the position, rather than at the first Next.
func Open(ctx context.Context, sv *server.Server, o Options) (Reader, error) {
	fl, err := gtidFlavor(ctx, sv)
	if err != nil {
		return nil, relabel(err, "binlog_events")
	}
	if err := o.check(fl); err != nil {
		return nil, opError(sv, "binlog_events", err)
	}
	logs, err := ListLogs(ctx, sv)
	if err != nil {
		return nil, relabel(err, "binlog_events")
	}
	start, err := o.start(ctx, sv, logs)
	if err != nil {
		return nil, err
	}
	lim := &limited{limit: o.Limit, to: o.To, toGTID: o.ToGTID}
	if !o.Follow && len(logs) > 0 {
		last := logs[len(logs)-1]
		lim.end = gtid.Position{File: last.Name, Pos: last.Size}
	}
	if !start.IsZero() && !lim.before(start) {
		return lim, nil // nothing between the start and the bound
	}
	if o.Reader == ReaderStream {
		lim.in, err = openStream(ctx, sv, fl, start, lim.end, o)
	} else {
		lim.in = newShowReader(sv, fl, start, o)
	}
	if err != nil {
		return nil, err
	}
	return lim, nil
}

func (o Options) check(fl gtid.Flavor) error {
	switch o.Reader {
	case "", ReaderShow:
		if !o.After.IsEmpty() {
			return errors.New("a start after a GTID position needs the stream reader")
		}
	case ReaderStream:
	default:
		return fmt.Errorf("reader %q: want %q or %q", o.Reader, ReaderShow, ReaderStream)
	}
	starts := 0
	for _, set := range []bool{!o.From.IsZero(), !o.FromGTID.IsEmpty(), !o.After.IsEmpty()} {
		if set {
			starts++
		}
	}
	if starts > 1 {
		return errors.New("give one start: a position, a GTID, or a GTID position to start after")
	}
	for _, g := range []gtid.Set{o.FromGTID, o.ToGTID, o.After} {
		if !g.IsEmpty() && g.Flavor() != fl {
			return fmt.Errorf("gtid %s is a %s GTID and the server is %s", g, g.Flavor(), fl)
		}
	}
	for _, g := range []gtid.Set{o.FromGTID, o.ToGTID} {
		if !g.IsEmpty() && !isSingle(g) {
			return fmt.Errorf("gtid %s: want a single transaction's GTID", g)
		}
	}
	if o.Limit < 0 || o.PageSize < 0 || o.PollInterval < 0 {
		return errors.New("limit, page size and poll interval cannot be negative")
	}
	return nil
}

// start resolves where reading begins; the zero Position means "after
// o.After", which only the stream reader's server knows.
func (o Options) start(ctx context.Context, sv *server.Server, logs []BinaryLog) (gtid.Position, error) {
	switch {
	case !o.FromGTID.IsEmpty():
		loc, err := LocateGTID(ctx, sv, o.FromGTID)
		if err != nil {
			return gtid.Position{}, relabel(err, "binlog_events")
		}
		if loc == nil {
			return gtid.Position{}, opError(sv, "binlog_events",
				fmt.Errorf("start gtid %s: not in the binary logs (never written here, or purged)", o.FromGTID))
		}
		return loc.Position(), nil
	case !o.After.IsEmpty():
		return gtid.Position{}, nil
	case o.From.IsZero():
		if len(logs) == 0 {
			return gtid.Position{}, opError(sv, "binlog_events", errors.New("the server has no binary logs"))
		}
		return gtid.Position{File: logs[0].Name, Pos: 4}, nil
	}
	if err := checkStart(sv, logs, o.From); err != nil {
		return gtid.Position{}, err
	}
	return o.From, checkBoundary(ctx, sv, o.From)
}

// isSingle reports whether g holds exactly one GTID.
func isSingle(g gtid.Set) bool {
	if m, ok := g.MariaDB(); ok {
		return len(m.GTIDs()) == 1
	}
	_, err := gtid.ParseMySQLGTID(g.String())
	return err == nil
}

// limited applies the bounds common to both readers: To, ToGTID, Limit,
// and the end of the log for a reader that does not follow. Bounds are
// checked on the event's start (an event at or past a bound is not
// returned) and on its end (an event that reaches a bound is the last one),
// so the stream reader, which would block waiting for the next event, stops
// after the last one instead.
type limited struct {
	in       Reader
	limit    int
	count    int
	to, end  gtid.Position
	toGTID   gtid.Set
	txn      txnTracker
	inTarget bool        // inside the ToGTID transaction
	done     atomic.Bool // Close may come from another goroutine
}

func (r *limited) Next(ctx context.Context) (Event, error) {
	if r.done.Load() || r.in == nil || (r.limit > 0 && r.count >= r.limit) {
		r.finish()
		return Event{}, io.EOF
	}
	ev, err := r.in.Next(ctx)
	if err != nil {
		r.finish()
		return Event{}, err
	}
	if !r.before(ev.Position()) {
		r.finish()
		return Event{}, io.EOF
	}
	ends := r.txn.observe(&ev)
	if ev.Type == "gtid" && !r.toGTID.IsEmpty() && ev.GTID.Equal(r.toGTID) {
		r.inTarget = true
	}
	r.count++
	if (r.inTarget && ends) || !r.before(gtid.Position{File: ev.File, Pos: ev.EndPos}) {
		r.finish()
	}
	return ev, nil
}

// before reports whether p lies before both position bounds. Positions
// that cannot be compared (a log renamed under us) count as past them.
func (r *limited) before(p gtid.Position) bool {
	for _, b := range []gtid.Position{r.to, r.end} {
		if b.IsZero() {
			continue
		}
		if c, err := p.Compare(b); err != nil || c >= 0 {
			return false
		}
	}
	return true
}

// finish marks the end and releases the inner reader at once, so that a
// loop that stops at EOF leaves no connection behind.
func (r *limited) finish() {
	r.done.Store(true)
	if r.in != nil {
		r.in.Close()
	}
}

func (r *limited) Close() error {
	r.done.Store(true)
	if r.in == nil {
		return nil
	}
	return r.in.Close()
}
