package bindings

import (
	"errors"
	"fmt"
	"io"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/binlog"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

const binlogReaderTypeName = "replicant.binlog_events"

// binlogMethods are the server methods that read binary logs.
func (s *State) binlogMethods() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"binary_logs":         s.serverBinaryLogs,
		"binlog_events":       s.serverBinlogEvents,
		"errant_transactions": s.serverErrantTransactions,
	}
}

// binlogFunctions are the module functions about binary logs.
func (s *State) binlogFunctions() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"locate_gtid": s.repLocateGTID,
	}
}

// db:binary_logs() → { {name = "mysql-bin.000001", size = 1147}, ... },
// oldest first.
func (s *State) serverBinaryLogs(L *lua.LState) int {
	logs, err := binlog.ListLogs(L.Context(), checkServer(L, 1))
	if err != nil {
		return s.raise(L, "binary_logs", err)
	}
	t := L.CreateTable(len(logs), 0)
	for _, l := range logs {
		e := L.CreateTable(0, 2)
		e.RawSetString("name", lua.LString(l.Name))
		e.RawSetString("size", s.toLua(l.Size))
		t.Append(e)
	}
	L.Push(t)
	return 1
}

var binlogEventsOptions = optSpec{
	"from": optAny, "to": optAny, "after": optAny, "limit": optInt, "follow": optBool,
	"reader": optString, "server_id": optInt, "report_host": optString, "poll": optDuration,
	"reconnect": optDuration,
}

// db:binlog_events{from=, to=, after=, limit=, follow=, reader=,
// server_id=, report_host=, poll=, reconnect=} → an iterator of events:
//
//	for ev in db:binlog_events{ from = "0-1-5", limit = 10 } do print(ev.type, ev.pos) end
//
// from and to take a position (value or "file:pos") or one transaction's
// GTID (value or text in the server's flavor): from starts at that
// transaction, to stops after it. after (reader "stream" only) takes a
// GTID position and starts where a replica at it would. reader is "show"
// (SHOW BINLOG EVENTS, the default) or "stream" (the replication protocol:
// timestamps, row counts, new events pushed at once). reconnect (a
// duration) keeps a reader going through a lost connection, a server
// restart say, for that long, resuming exactly where it was.
//
// Each event is a plain table: type, file, pos, end_pos, server_id, and
// where they apply timestamp (unix seconds; stream only), gtid (the
// transaction's GTID as text, on its GTID event and every later event of
// it; rep.gtid(ev.gtid) makes a value of it), query, db, xid, next_file and
// next_pos (rotate), table_id, table ("db.t"), rows (row events, stream
// only: nil when unknown, never a guessed 0) and info (show only: the Info
// column verbatim).
//
// It returns two values: the iterator function and the reader object,
// whose :close() releases it early, which matters for the stream reader's
// connection after a `break` (Lua 5.1 has no to-be-closed variables and
// gopher-lua no __gc):
//
//	local it, events = db:binlog_events{ reader = "stream", follow = true }
//	for ev in it do if ev.type == "xid" then break end end
//	events:close()
//
// A reader also closes itself at its end, on an error, when the run's
// context ends, and when the state closes (Registry.closeReaders). The
// iterator is a plain closure over the object rather than a callable
// object, the form a generic for expects everywhere.
func (s *State) serverBinlogEvents(L *lua.LState) int {
	sv := checkServer(L, 1)
	o := checkOptions(L, 2, "binlog_events", binlogEventsOptions)
	opts, err := s.binlogOptions(L, sv, o)
	if err != nil {
		return s.raise(L, "binlog_events", err)
	}
	r, err := binlog.Open(L.Context(), sv, opts)
	if err != nil {
		return s.raise(L, "binlog_events", err)
	}
	ud := L.NewUserData()
	ud.Value = s.reg.track(L.Context(), sv, r)
	L.SetMetatable(ud, s.binlogReaderMeta(L))
	L.Push(L.NewClosure(s.binlogIterate, ud))
	L.Push(ud)
	return 2
}

func (s *State) binlogOptions(L *lua.LState, sv *server.Server, o options) (binlog.Options, error) {
	opts := binlog.Options{Reader: binlog.Kind(o.str("reader")), Limit: o.int("limit"),
		Follow: o.bool("follow"), ReportHost: o.str("report_host"), PollInterval: o.duration("poll"),
		Reconnect: o.duration("reconnect")}
	id := o.int("server_id")
	if id < 0 || id > 1<<32-1 {
		return opts, fmt.Errorf("option server_id: %d is not a server id", id)
	}
	opts.ServerID = uint32(id)
	fl, err := sv.Flavor(L.Context())
	if err != nil {
		return opts, err
	}
	gf := fl.GTIDFlavor()
	for key, dst := range map[string]struct {
		pos *gtid.Position
		g   *gtid.Set
	}{"from": {&opts.From, &opts.FromGTID}, "to": {&opts.To, &opts.ToGTID}} {
		if o.has(key) {
			if err := positionOrGTID(o.value(key), gf, dst.pos, dst.g); err != nil {
				return opts, fmt.Errorf("option %s: %w", key, err)
			}
		}
	}
	if o.has("after") {
		if opts.After, err = gtidValue(o.value("after"), gf, false); err != nil {
			return opts, fmt.Errorf("option after: %w", err)
		}
	}
	return opts, nil
}

// positionOrGTID reads a position or a single GTID. Text is tried as a
// GTID of the server's flavor first: a MySQL GTID "uuid:5" would also read
// as a position in a file named by the UUID, which no server writes.
func positionOrGTID(v lua.LValue, fl gtid.Flavor, pos *gtid.Position, g *gtid.Set) error {
	if ud, ok := v.(*lua.LUserData); ok {
		if p, ok := ud.Value.(gtid.Position); ok {
			*pos = p
			return nil
		}
	}
	set, gerr := gtidValue(v, fl, true)
	if gerr == nil {
		*g = set
		return nil
	}
	text, ok := v.(lua.LString)
	if !ok {
		return gerr
	}
	p, err := gtid.ParsePosition(string(text))
	if err != nil {
		return fmt.Errorf("%q is neither a %s GTID nor a binlog position (%v)", string(text), fl, err)
	}
	*pos = p
	return nil
}

// gtidValue reads a GTID value or text of the server's flavor; single
// asks for exactly one transaction.
func gtidValue(v lua.LValue, fl gtid.Flavor, single bool) (gtid.Set, error) {
	var set gtid.Set
	var err error
	switch x := v.(type) {
	case lua.LString:
		if single {
			set, err = gtid.ParseGTID(string(x), fl)
		} else {
			set, err = gtid.Parse(string(x), fl)
		}
	case *lua.LUserData:
		g, ok := x.Value.(gtid.Set)
		if !ok {
			return set, fmt.Errorf("want a GTID, got %s", v.Type())
		}
		set = g
	default:
		return set, fmt.Errorf("want a GTID or a position, got %s", v.Type())
	}
	return set, err
}

// luaReader is an open binlog_events iterator.
type luaReader struct {
	sv   *server.Server
	r    binlog.Reader
	stop func() bool // unregisters the context hook
	reg  *Registry
	once sync.Once
}

func (lr *luaReader) close() {
	lr.once.Do(func() {
		lr.stop()
		lr.r.Close()
		lr.reg.untrack(lr)
	})
}

func (s *State) binlogReaderMeta(L *lua.LState) lua.LValue {
	if mt, ok := L.GetTypeMetatable(binlogReaderTypeName).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTypeMetatable(binlogReaderTypeName)
	mt.RawSetString("__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"next":  s.binlogNext,
		"close": func(L *lua.LState) int { checkBinlogReader(L, 1).close(); return 0 },
	}))
	mt.RawSetString("__newindex", L.NewFunction(immutable))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("binlog events of " + checkBinlogReader(L, 1).sv.String()))
		return 1
	}))
	return mt
}

func checkBinlogReader(L *lua.LState, n int) *luaReader {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if lr, ok := ud.Value.(*luaReader); ok {
			return lr
		}
	}
	L.ArgError(n, "binlog events iterator expected")
	return nil
}

// binlogIterate is the iterator function; its reader is its upvalue, so
// it needs no argument.
func (s *State) binlogIterate(L *lua.LState) int {
	return s.binlogStep(L, L.CheckUserData(lua.UpvalueIndex(1)).Value.(*luaReader))
}

// binlogNext is events:next().
func (s *State) binlogNext(L *lua.LState) int {
	return s.binlogStep(L, checkBinlogReader(L, 1))
}

// binlogStep returns the next event, or nil at the end.
func (s *State) binlogStep(L *lua.LState, lr *luaReader) int {
	ev, err := lr.r.Next(L.Context())
	if err != nil {
		lr.close()
		if errors.Is(err, io.EOF) {
			L.Push(lua.LNil)
			return 1
		}
		return s.raise(L, "binlog_events", err)
	}
	L.Push(s.eventToLua(L, ev))
	return 1
}

func (s *State) eventToLua(L *lua.LState, ev binlog.Event) *lua.LTable {
	t := L.CreateTable(0, 10)
	set := func(k string, v lua.LValue) { t.RawSetString(k, v) }
	setText := func(k, v string) {
		if v != "" {
			set(k, lua.LString(v))
		}
	}
	set("type", lua.LString(ev.Type))
	set("file", lua.LString(ev.File))
	set("pos", s.toLua(ev.Pos))
	set("end_pos", s.toLua(ev.EndPos))
	set("server_id", lua.LNumber(ev.ServerID))
	if !ev.Time.IsZero() {
		set("timestamp", lua.LNumber(ev.Time.Unix()))
	}
	setText("gtid", ev.GTID.String())
	setText("query", ev.Query)
	setText("db", ev.DB)
	setText("next_file", ev.NextFile)
	setText("table", ev.Table)
	setText("info", ev.Info)
	switch {
	case ev.Type == "xid":
		set("xid", s.toLua(ev.Xid))
	case ev.Type == "rotate":
		set("next_pos", s.toLua(ev.NextPos))
	case ev.Type == "table_map" || ev.IsRows():
		set("table_id", s.toLua(ev.TableID))
		if ev.IsRows() && ev.Rows != binlog.RowsUnknown {
			set("rows", lua.LNumber(ev.Rows))
		}
	}
	return t
}

// rep.locate_gtid(server, gtid) → { gtid=, file=, pos=, end_pos=,
// position=, server_id=, query=, db=, table= } for the transaction's GTID
// event and its first statement and table, or nil when no binary log of
// the server holds it.
func (s *State) repLocateGTID(L *lua.LState) int {
	sv := checkServer(L, 1)
	fl, err := sv.Flavor(L.Context())
	if err != nil {
		return s.raise(L, "locate_gtid", err)
	}
	g, err := gtidValue(L.Get(2), fl.GTIDFlavor(), true)
	if err != nil {
		L.ArgError(2, err.Error())
	}
	loc, err := binlog.LocateGTID(L.Context(), sv, g)
	if err != nil {
		return s.raise(L, "locate_gtid", err)
	}
	if loc == nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(s.locationToLua(L, loc))
	return 1
}

func (s *State) locationToLua(L *lua.LState, loc *binlog.Location) *lua.LTable {
	t := L.CreateTable(0, 10)
	t.RawSetString("gtid", lua.LString(loc.GTID.String()))
	t.RawSetString("file", lua.LString(loc.File))
	t.RawSetString("pos", s.toLua(loc.Pos))
	t.RawSetString("end_pos", s.toLua(loc.EndPos))
	t.RawSetString("position", newValue(L, loc.Position(), positionTypeName))
	t.RawSetString("server_id", lua.LNumber(loc.ServerID))
	for k, v := range map[string]string{"query": loc.Query, "db": loc.DB, "table": loc.Table} {
		if v != "" {
			t.RawSetString(k, lua.LString(v))
		}
	}
	return t
}

var errantOptions = optSpec{"limit": optInt}

// replica:errant_transactions(primary_or_gtid, {limit=}) → list, truncated.
// The list holds the transactions the replica executed that the primary
// (or the GTID set given) lacks, newest first, at most limit (100):
// { gtid=, found=, file=, pos=, ... as locate_gtid }. A MariaDB GTID whose
// server id is unknown (only seq_nos are known between two positions)
// reads "0-*-11" until found. found is false when the replica's binary
// logs no longer hold the transaction.
func (s *State) serverErrantTransactions(L *lua.LState) int {
	replica := checkServer(L, 1)
	o := checkOptions(L, 3, "errant_transactions", errantOptions)
	var base gtid.Set
	var err error
	if ud, ok := L.Get(2).(*lua.LUserData); ok {
		if primary, ok := ud.Value.(*server.Server); ok {
			if base, err = primary.GTIDExecuted(L.Context()); err != nil {
				return s.raise(L, "errant_transactions", err)
			}
		}
	}
	if base.Flavor() == "" {
		fl, err := replica.Flavor(L.Context())
		if err != nil {
			return s.raise(L, "errant_transactions", err)
		}
		if base, err = gtidValue(L.Get(2), fl.GTIDFlavor(), false); err != nil {
			L.ArgError(2, "want the primary (a server) or a GTID set: "+err.Error())
		}
	}
	list, truncated, err := binlog.ErrantTransactions(L.Context(), replica, base, o.int("limit"))
	if err != nil {
		return s.raise(L, "errant_transactions", err)
	}
	out := L.CreateTable(len(list), 0)
	for _, e := range list {
		t := L.CreateTable(0, 2)
		if e.Location != nil {
			t = s.locationToLua(L, e.Location)
		} else {
			t.RawSetString("gtid", lua.LString(e.Target.String()))
		}
		t.RawSetString("found", lua.LBool(e.Location != nil))
		out.Append(t)
	}
	L.Push(out)
	L.Push(lua.LBool(truncated))
	return 2
}
