package bindings

import (
	"context"
	"fmt"

	lua "github.com/yuin/gopher-lua"
	luar "layeh.com/gopher-luar"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// verbMethods are the server methods that change replication state.
func (s *State) verbMethods() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"change_source":    s.serverChangeSource,
		"start_replica":    s.threadsVerb("start_replica", (*server.Server).StartReplica),
		"stop_replica":     s.threadsVerb("stop_replica", (*server.Server).StopReplica),
		"reset_replica":    s.serverResetReplica,
		"wait_for":         s.serverWaitFor,
		"wait_and_stop":    s.serverWaitAndStop,
		"wait_replicating": s.serverWaitReplicating,
		"set_read_only":    s.serverSetReadOnly,
		"lock_tables":      s.serverLockTables,
		"unlock_tables":    s.simpleVerb("unlock_tables", (*server.Server).UnlockTables),
		"settle":           s.simpleVerb("settle", (*server.Server).Settle),
		"kill_connections": s.serverKillConnections,
		"connections":      s.serverConnections,
		"set_variable":     s.serverSetVariable,
		"semi_sync":        s.serverSemiSync,
		"set_semi_sync":    s.serverSetSemiSync,
	}
}

func (s *State) simpleVerb(op string, fn func(*server.Server, context.Context) error) lua.LGFunction {
	return func(L *lua.LState) int {
		if err := fn(checkServer(L, 1), L.Context()); err != nil {
			return s.raise(L, op, err)
		}
		return 0
	}
}

var lockOptions = optSpec{"lock_wait": optDuration}

// db:lock_tables{lock_wait = "2s"} takes FLUSH TABLES WITH READ LOCK on a
// session of its own (db's other methods stay free for reads) until
// db:unlock_tables(); lock_wait bounds how long it waits behind a running
// statement (lock_wait_timeout; by default the change deadline, 60 s).
func (s *State) serverLockTables(L *lua.LState) int {
	sv := checkServer(L, 1)
	o := checkOptions(L, 2, "lock_tables", lockOptions)
	if err := sv.LockTables(L.Context(), server.LockOptions{LockWait: o.duration("lock_wait")}); err != nil {
		return s.raise(L, "lock_tables", err)
	}
	return 0
}

var threadOptions = optSpec{"thread": optString}

// db:start_replica{thread = "io" | "sql"}: both threads when not given.
func (s *State) threadsVerb(op string, fn func(*server.Server, context.Context, flavor.Threads) error) lua.LGFunction {
	return func(L *lua.LState) int {
		sv := checkServer(L, 1)
		o := checkOptions(L, 2, op, threadOptions)
		t := flavor.BothThreads
		switch o.str("thread") {
		case "":
		case "io":
			t = flavor.IOThread
		case "sql":
			t = flavor.SQLThread
		default:
			L.RaiseError("%s: option thread: want \"io\" or \"sql\", got %q", op, o.str("thread"))
		}
		if err := fn(sv, L.Context(), t); err != nil {
			return s.raise(L, op, err)
		}
		return 0
	}
}

var resetOptions = optSpec{"all": optBool}

// db:reset_replica{all = true} also forgets the source.
func (s *State) serverResetReplica(L *lua.LState) int {
	sv := checkServer(L, 1)
	o := checkOptions(L, 2, "reset_replica", resetOptions)
	if err := sv.ResetReplica(L.Context(), o.bool("all")); err != nil {
		return s.raise(L, "reset_replica", err)
	}
	return 0
}

var changeSourceOptions = optSpec{
	"user": optString, "password": optString, "position": optAny, "gtid": optString,
	"demote": optBool, "heartbeat": optDuration, "connect_retry": optDuration,
	"delay": optDuration, "ssl": optBool, "ssl_ca": optString, "ssl_verify_server_cert": optBool,
}

// db:change_source(src, opts): src is a server object or "host:port".
// Replication credentials come from the deployment's repl_user unless
// opts give them. Without a position the replica positions itself by
// GTID; with one it starts from that file:pos.
func (s *State) serverChangeSource(L *lua.LState) int {
	sv := checkServer(L, 1)
	o := checkOptions(L, 3, "change_source", changeSourceOptions)
	opts, err := s.changeSourceOptions(L, o)
	if err != nil {
		L.RaiseError("change_source: %v", err)
	}
	switch src := L.Get(2).(type) {
	case lua.LString:
		host, port, socket, err := server.ParseAddress(string(src))
		if err != nil || socket != "" {
			L.ArgError(2, "want a server or \"host:port\"")
		}
		opts.Host, opts.Port = host, port
	default:
		// A server object is pointed at by the address replicas use for
		// it (replication_host in the deployment), not the tool's.
		cfg := checkServer(L, 2).Config()
		host, port := cfg.ReplicationAddress()
		if host == "" {
			L.ArgError(2, fmt.Sprintf("%s is reached over a socket; a replica needs its host and port (replication_host)", cfg.Address()))
		}
		opts.Host, opts.Port = host, port
	}
	if err := sv.ChangeSource(L.Context(), opts); err != nil {
		return s.raise(L, "change_source", err)
	}
	return 0
}

func (s *State) changeSourceOptions(L *lua.LState, o options) (flavor.ChangeSourceOptions, error) {
	var opts flavor.ChangeSourceOptions
	if d := s.cfg.Deployment; d != nil {
		opts.User, opts.Password = d.ReplUser.Name, d.ReplUser.Password.Reveal()
		if d.ReplCA != "" { // repl_tls: verified TLS unless the call says otherwise
			opts.SSL, opts.SSLCA, opts.SSLVerifyServerCert = flavor.SSLOn, d.ReplCA, flavor.SSLOn
		}
	}
	if o.has("user") {
		opts.User, opts.Password = o.str("user"), o.str("password")
	} else if o.has("password") {
		opts.Password = o.str("password")
	}
	if opts.User == "" {
		return opts, fmt.Errorf("no replication user: set repl_user in the deployment or give { user =, password = }")
	}
	if o.has("position") {
		p, err := toPosition(o.value("position"))
		if err != nil {
			return opts, fmt.Errorf("option position: %w", err)
		}
		opts.File, opts.Pos = p.File, p.Pos
	}
	switch g := o.str("gtid"); g {
	case "":
		if opts.File == "" {
			opts.GTID = flavor.GTIDAutoPosition
		}
	case "auto", "slave_pos":
		opts.GTID = flavor.GTIDAutoPosition
	case "current_pos":
		opts.GTID = flavor.GTIDCurrentPos
	case "off":
		opts.GTID = flavor.GTIDOff
	default:
		return opts, fmt.Errorf("option gtid: want auto, slave_pos, current_pos or off, got %q", g)
	}
	opts.DemoteToReplica = o.bool("demote")
	opts.Heartbeat = o.duration("heartbeat")
	opts.ConnectRetry = o.duration("connect_retry")
	if d := s.cfg.Deployment; d != nil { // the deployment's replication settings, unless the call gives its own
		if !o.has("heartbeat") {
			opts.Heartbeat = d.ReplHeartbeat
		}
		if !o.has("connect_retry") {
			opts.ConnectRetry = d.ReplConnectRetry
		}
	}
	if o.has("delay") {
		d := o.duration("delay")
		opts.Delay = &d
	}
	if o.has("ssl") {
		opts.SSL = flavor.SSLOn
		if !o.bool("ssl") { // and none of repl_tls's defaults either
			opts.SSL, opts.SSLCA, opts.SSLVerifyServerCert = flavor.SSLOff, "", flavor.SSLOff
		}
	}
	if o.has("ssl_ca") {
		opts.SSLCA = o.str("ssl_ca")
	}
	if o.has("ssl_verify_server_cert") {
		opts.SSLVerifyServerCert = flavor.SSLOff
		if o.bool("ssl_verify_server_cert") {
			opts.SSLVerifyServerCert = flavor.SSLOn
		}
	}
	return opts, nil
}

// toPosition accepts a position value or "file:pos" text.
func toPosition(v lua.LValue) (gtid.Position, error) {
	switch x := v.(type) {
	case lua.LString:
		return gtid.ParsePosition(string(x))
	case *lua.LUserData:
		if p, ok := x.Value.(gtid.Position); ok {
			return p, nil
		}
	}
	return gtid.Position{}, fmt.Errorf("want a position (rep.position or \"file:pos\"), got %s", v.Type())
}

var waitOptions = optSpec{"timeout": optDuration}

// db:wait_for(target, {timeout=}) → true when the replica has applied
// target (a GTID set, GTID text, or a position), false when the timeout
// passed first. Raises when the replica's SQL thread stops or errors.
// Without a timeout it waits as long as the run may (--timeout).
func (s *State) serverWaitFor(L *lua.LState) int {
	sv := checkServer(L, 1)
	o := checkOptions(L, 3, "wait_for", waitOptions)
	var reached bool
	var err error
	switch target := L.Get(2).(type) {
	case *lua.LUserData:
		switch v := target.Value.(type) {
		case gtid.Position:
			reached, err = sv.WaitForPosition(L.Context(), v, o.duration("timeout"))
		case gtid.Set:
			reached, err = sv.WaitForGTID(L.Context(), v, o.duration("timeout"))
		default:
			L.ArgError(2, "want a position or a GTID set")
		}
	case lua.LString:
		set := s.gtidOfServer(L, sv, 2)
		reached, err = sv.WaitForGTID(L.Context(), set, o.duration("timeout"))
	default:
		L.ArgError(2, "want a position or a GTID set")
	}
	if err != nil {
		return s.raise(L, "wait_for", err)
	}
	L.Push(lua.LBool(reached))
	return 1
}

// db:wait_replicating{timeout=} → true once both replication threads run
// and the receiver is connected, false when the timeout passed first (the
// receiver still connecting). Raises when that cannot happen by itself:
// not a replica, a thread stopped.
func (s *State) serverWaitReplicating(L *lua.LState) int {
	sv := checkServer(L, 1)
	o := checkOptions(L, 2, "wait_replicating", waitOptions)
	ok, err := sv.WaitReplicating(L.Context(), o.duration("timeout"))
	if err != nil {
		return s.raise(L, "wait_replicating", err)
	}
	L.Push(lua.LBool(ok))
	return 1
}

// gtidOfServer parses argument n as GTID text in the server's flavor.
func (s *State) gtidOfServer(L *lua.LState, sv *server.Server, n int) gtid.Set {
	fl, err := sv.Flavor(L.Context())
	if err != nil {
		s.raise(L, "wait_for", err)
	}
	return toGTID(L, n, fl.GTIDFlavor())
}

// db:wait_and_stop(position, {timeout=}) → true once the applier has
// stopped exactly at position.
func (s *State) serverWaitAndStop(L *lua.LState) int {
	sv := checkServer(L, 1)
	p, err := toPosition(L.Get(2))
	if err != nil {
		L.ArgError(2, err.Error())
	}
	o := checkOptions(L, 3, "wait_and_stop", waitOptions)
	reached, err := sv.WaitAndStop(L.Context(), p, o.duration("timeout"))
	if err != nil {
		return s.raise(L, "wait_and_stop", err)
	}
	L.Push(lua.LBool(reached))
	return 1
}

var readOnlyOptions = optSpec{"super": optBool, "max_time": optDuration}

// db:set_read_only(on, {super=, max_time=}) sets read_only, and
// super_read_only with super (an error on MariaDB, which has none: fence
// admin sessions with kill_connections or lock_tables there). max_time
// bounds the statement on the server where the flavor can (MariaDB's
// max_statement_time; error 1969 when it passes, read_only unchanged).
func (s *State) serverSetReadOnly(L *lua.LState) int {
	sv := checkServer(L, 1)
	on := L.CheckBool(2)
	o := checkOptions(L, 3, "set_read_only", readOnlyOptions)
	mode := flavor.ReadWrite
	switch {
	case on && o.bool("super"):
		mode = flavor.SuperReadOnly
	case on:
		mode = flavor.ReadOnlyOn
	}
	if err := sv.SetReadOnlyWithin(L.Context(), mode, o.duration("max_time")); err != nil {
		return s.raise(L, "set_read_only", err)
	}
	return 0
}

// connectionView is what a kill_connections filter sees of a session:
// plain read-only data, handed to Lua through gopher-luar with snake_case
// names.
type connectionView struct {
	ID      uint64 `luar:"id"`
	User    string `luar:"user"`
	Host    string `luar:"host"`
	DB      string `luar:"db"`
	Command string `luar:"command"`
	Time    int64  `luar:"time"`
	State   string `luar:"state"`
	Info    string `luar:"info"`
}

// db:kill_connections(filter) ends client sessions (never the server's own
// threads, the replicas' dump threads, or our session) for which
// filter(conn) is true; without a filter, all of them. Returns the list
// of sessions killed.
func (s *State) serverKillConnections(L *lua.LState) int {
	sv := checkServer(L, 1)
	filter, _ := L.Get(2).(*lua.LFunction)
	if filter == nil && L.Get(2) != lua.LNil {
		L.ArgError(2, "want a function(conn) returning true for the sessions to kill")
	}
	conns, err := sv.ClientConnections(L.Context())
	if err != nil {
		return s.raise(L, "kill_connections", err)
	}
	killed := L.NewTable()
	for _, c := range conns {
		view := luar.New(L, connectionView(c))
		if filter != nil {
			L.Push(filter)
			L.Push(view)
			L.Call(1, 1)
			keep := !lua.LVAsBool(L.Get(-1))
			L.Pop(1)
			if keep {
				continue
			}
		}
		if err := sv.KillConnection(L.Context(), c.ID); err != nil {
			return s.raise(L, "kill_connections", err)
		}
		killed.Append(view)
	}
	L.Push(killed)
	return 1
}

var setVariableOptions = optSpec{"persist": optBool}

// db:set_variable(name, value, {persist=}).
func (s *State) serverSetVariable(L *lua.LState) int {
	sv := checkServer(L, 1)
	name := L.CheckString(2)
	v, err := s.fromLua(L.Get(3))
	if err != nil {
		L.ArgError(3, err.Error())
	}
	o := checkOptions(L, 4, "set_variable", setVariableOptions)
	if err := sv.SetVariable(L.Context(), name, v, o.bool("persist")); err != nil {
		return s.raise(L, "set_variable", err)
	}
	return 0
}

// db:connections() → the client sessions kill_connections would consider
// (every session but ours, the server's own threads and the replicas' dump
// threads), as plain read-only rows.
func (s *State) serverConnections(L *lua.LState) int {
	conns, err := checkServer(L, 1).ClientConnections(L.Context())
	if err != nil {
		return s.raise(L, "connections", err)
	}
	out := L.CreateTable(len(conns), 0)
	for _, c := range conns {
		out.Append(luar.New(L, connectionView(c)))
	}
	L.Push(out)
	return 1
}
