package binlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// showReader pages through SHOW BINLOG EVENTS on the server's session. It
// holds no connection of its own between pages, so Close has nothing to
// release; it only stops further pages.
type showReader struct {
	sv        *server.Server
	fl        gtid.Flavor
	next      gtid.Position // where the next page starts
	pageSize  int
	follow    bool
	poll      time.Duration
	page      []Event
	tables    map[uint64]string // table_id → "db.t", from the Table_map events seen
	closed    atomic.Bool
	reconnect time.Duration
}

func newShowReader(sv *server.Server, fl gtid.Flavor, start gtid.Position, o Options) *showReader {
	r := &showReader{sv: sv, fl: fl, next: start, pageSize: o.PageSize, follow: o.Follow,
		poll: o.PollInterval, tables: map[uint64]string{}, reconnect: o.Reconnect}
	if r.pageSize == 0 {
		r.pageSize = DefaultPageSize
	}
	if r.poll == 0 {
		r.poll = DefaultPollInterval
	}
	return r
}

func (r *showReader) Close() error {
	r.closed.Store(true)
	return nil
}

func (r *showReader) Next(ctx context.Context) (Event, error) {
	for {
		if r.closed.Load() {
			return Event{}, io.EOF
		}
		if len(r.page) > 0 {
			ev := r.page[0]
			r.page = r.page[1:]
			return ev, nil
		}
		var n int
		err := r.retrying(ctx, func() (err error) { n, err = r.fetch(ctx); return err })
		if err != nil {
			r.Close()
			return Event{}, err
		}
		if n > 0 {
			continue
		}
		// Nothing more in this file. A file ends with a Rotate event
		// (which fetch follows) unless the server stopped without one;
		// then the next file in SHOW BINARY LOGS is where it went on.
		var moved bool
		err = r.retrying(ctx, func() (err error) { moved, err = r.nextFile(ctx); return err })
		if err != nil {
			r.Close()
			return Event{}, err
		}
		if moved {
			continue
		}
		if !r.follow {
			r.Close()
			return Event{}, io.EOF
		}
		if err := sleep(ctx, r.poll); err != nil {
			r.Close()
			return Event{}, ctxError(r.sv, ctx)
		}
	}
}

// retrying runs op and, with Options.Reconnect, runs it again every second
// while it fails for a lost connection (the server session reconnects on
// its next statement), for up to r.reconnect. r.next has not moved, so
// reading resumes exactly where it was.
func (r *showReader) retrying(ctx context.Context, op func() error) error {
	deadline := time.Now().Add(r.reconnect)
	for {
		err := op()
		if err == nil || r.reconnect <= 0 || !lostConnection(err) || ctx.Err() != nil {
			return err
		}
		if time.Now().After(deadline) {
			return opError(r.sv, "binlog_events", fmt.Errorf("lost the connection at %s and could not reconnect within %s: %w",
				r.next, r.reconnect, err))
		}
		if sleep(ctx, reconnectInterval) != nil {
			return ctxError(r.sv, ctx)
		}
	}
}

// lostConnection tells a broken or refused connection, worth retrying,
// from an answer of the server (an error code) or a timeout.
func lostConnection(err error) bool {
	var se *server.Error
	return errors.As(err, &se) && se.Code == 0 && !se.Timeout()
}

// fetch reads one page from r.next and advances r.next past it.
func (r *showReader) fetch(ctx context.Context) (int, error) {
	q := fmt.Sprintf("SHOW BINLOG EVENTS IN %s FROM %d LIMIT %d", flavor.QuoteString(r.next.File), r.next.Pos, r.pageSize)
	res, err := r.sv.Query(ctx, q)
	if err != nil {
		return 0, relabel(err, "binlog_events", "reading "+r.next.String())
	}
	for i := range res.Rows {
		ev, err := r.event(res.Row(i))
		if err != nil {
			return 0, opError(r.sv, "binlog_events", err)
		}
		r.page = append(r.page, ev)
		r.next = gtid.Position{File: ev.File, Pos: ev.EndPos}
		if ev.Type == "rotate" && ev.NextFile != "" {
			// The last event of a file; the log goes on at NextFile:4.
			r.next = gtid.Position{File: ev.NextFile, Pos: max(ev.NextPos, 4)}
		}
	}
	return len(res.Rows), nil
}

// event reads one row of SHOW BINLOG EVENTS (Log_name, Pos, Event_type,
// Server_id, End_log_pos, Info) by column name.
func (r *showReader) event(row server.Row) (Event, error) {
	var ev Event
	var ok [4]bool
	ev.File, ok[0] = row["Log_name"].(string)
	ev.Pos, ok[1] = asUint(row["Pos"])
	ev.EndPos, ok[2] = asUint(row["End_log_pos"])
	sid, ok3 := asUint(row["Server_id"])
	serverType, ok4 := row["Event_type"].(string)
	ok[3] = ok3 && ok4
	if ok != [4]bool{true, true, true, true} {
		return ev, fmt.Errorf("unexpected row of SHOW BINLOG EVENTS: %v", row)
	}
	ev.ServerID = uint32(sid)
	ev.Type = normalizeType(serverType)
	info, _ := row["Info"].(string)
	if err := parseInfo(&ev, info, r.fl); err != nil {
		return ev, err
	}
	switch {
	case ev.Type == "table_map":
		r.tables[ev.TableID] = ev.Table
	case ev.IsRows():
		ev.Table = r.tables[ev.TableID]
		ev.Rows = RowsUnknown
	}
	return ev, nil
}

// nextFile moves to the log after r.next.File when SHOW BINARY LOGS has
// one.
func (r *showReader) nextFile(ctx context.Context) (bool, error) {
	logs, err := ListLogs(ctx, r.sv)
	if err != nil {
		return false, relabel(err, "binlog_events")
	}
	i := indexOf(logs, r.next.File)
	if i < 0 {
		return false, opError(r.sv, "binlog_events", fmt.Errorf("binary log %s was purged while being read", r.next.File))
	}
	if i+1 == len(logs) {
		return false, nil
	}
	r.next = gtid.Position{File: logs[i+1].Name, Pos: 4}
	return true, nil
}

// sleep waits d, or less when ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
