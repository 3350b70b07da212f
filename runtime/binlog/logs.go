package binlog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// BinaryLog is one row of SHOW BINARY LOGS.
type BinaryLog struct {
	Name string // "mysql-bin.000002"
	Size uint64 // File_size: bytes written so far
}

// ListLogs returns the server's binary logs, oldest first, as SHOW BINARY
// LOGS lists them. A server without binary logging answers that statement
// with error 1381 ("You are not using binary logging"), which is returned
// as it is.
func ListLogs(ctx context.Context, sv *server.Server) ([]BinaryLog, error) {
	res, err := sv.Query(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, relabel(err, "binary_logs")
	}
	logs := make([]BinaryLog, 0, len(res.Rows))
	for i := range res.Rows {
		row := res.Row(i)
		name, _ := row["Log_name"].(string)
		size, ok := asUint(row["File_size"])
		if name == "" || !ok {
			return nil, opError(sv, "binary_logs", fmt.Errorf("unexpected row %v of SHOW BINARY LOGS", res.Rows[i]))
		}
		logs = append(logs, BinaryLog{Name: name, Size: size})
	}
	return logs, nil
}

// asUint reads a non-negative integer column, which the driver hands over
// as int64, uint64 or, for some servers' SHOW output, text.
func asUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case int64:
		return uint64(x), x >= 0
	case uint64:
		return x, true
	case string:
		var n uint64
		_, err := fmt.Sscan(x, &n)
		return n, err == nil
	}
	return 0, false
}

// opError makes err an *server.Error naming the server and our operation,
// so the Lua layer raises it with both.
func opError(sv *server.Server, op string, err error) error {
	return &server.Error{Op: op, Server: sv.String(), Message: err.Error(), Err: err}
}

// ctxError reports that ctx ended, as server.Server does for a statement:
// the error wraps ctx.Err(), so callers see a timeout.
func ctxError(sv *server.Server, ctx context.Context) error {
	msg := "cancelled"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		msg = "timed out"
	}
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		msg += " (" + cause.Error() + ")"
	}
	return &server.Error{Op: "binlog_events", Server: sv.String(), Message: msg, Err: ctx.Err()}
}

// relabel gives a *server.Error from a statement our operation's name and
// keeps the server's code and message; context, when given, goes in front
// of the message ("start position mysql-bin.000009:4: ...").
func relabel(err error, op string, context ...string) error {
	var se *server.Error
	if !errors.As(err, &se) {
		return err
	}
	c := *se
	c.Op = op
	if len(context) > 0 {
		c.Message = strings.Join(context, " ") + ": " + c.Message
	}
	return &c
}

// gtidFlavor is the GTID dialect of a server.
func gtidFlavor(ctx context.Context, sv *server.Server) (gtid.Flavor, error) {
	fl, err := sv.Flavor(ctx)
	if err != nil {
		return "", err
	}
	return fl.GTIDFlavor(), nil
}

// indexOf finds file in logs.
func indexOf(logs []BinaryLog, file string) int {
	for i, l := range logs {
		if l.Name == file {
			return i
		}
	}
	return -1
}

// checkStart refuses a start position the server does not have, with a
// message that names what it has, before a reader asks the server (whose
// replies are "Could not find target log" for SHOW BINLOG EVENTS and
// error 1236 "Could not find first log file name in binary log index
// file" over the replication protocol).
func checkStart(sv *server.Server, logs []BinaryLog, from gtid.Position) error {
	i := indexOf(logs, from.File)
	switch {
	case len(logs) == 0:
		return opError(sv, "binlog_events", errors.New("the server has no binary logs"))
	case i < 0:
		return opError(sv, "binlog_events", fmt.Errorf("start position %s: no binary log %s (the server has %s … %s)",
			from, from.File, logs[0].Name, logs[len(logs)-1].Name))
	case from.Pos < 4 || from.Pos > logs[i].Size:
		return opError(sv, "binlog_events", fmt.Errorf("start position %s: outside %s, which has %d bytes",
			from, from.File, logs[i].Size))
	}
	return nil
}

// checkBoundary asks the server whether start begins an event, so that a
// bad start fails at Open with both readers: over the replication protocol
// a position inside an event gives garbage or a late, vague error, where
// SHOW BINLOG EVENTS says "Wrong offset or I/O error" at once.
func checkBoundary(ctx context.Context, sv *server.Server, start gtid.Position) error {
	if start.IsZero() || start.Pos == 4 {
		return nil
	}
	q := fmt.Sprintf("SHOW BINLOG EVENTS IN %s FROM %d LIMIT 1", flavor.QuoteString(start.File), start.Pos)
	if _, err := sv.Query(ctx, q); err != nil {
		return relabel(err, "binlog_events", "start position "+start.String())
	}
	return nil
}
