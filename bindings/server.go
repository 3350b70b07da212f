package bindings

import (
	"fmt"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

const serverTypeName = "replicant.server"

// serverMethods are the methods of a server object, db:NAME(...).
func (s *State) serverMethods() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"sql":          s.serverSQL,
		"exec":         s.serverExec,
		"query_row":    s.serverQueryRow,
		"variable":     s.serverVariable,
		"flavor":       s.serverFlavor,
		"version":      s.serverVersion,
		"name":         func(L *lua.LState) int { L.Push(lua.LString(checkServer(L, 1).Name())); return 1 },
		"address":      func(L *lua.LState) int { L.Push(lua.LString(checkServer(L, 1).Address())); return 1 },
		"close":        func(L *lua.LState) int { checkServer(L, 1).Close(); return 0 },
		"with_session": s.serverWithSession,
	}
}

// asyncMethods are the methods that, inside rep.parallel, run in a
// goroutine of their own: each sends statements on the server's pool,
// reads only its arguments and builds new values. Every other method
// (those calling back into Lua, holding a session, using gopher-luar's
// shared caches, or not blocking) runs in place, one at a time: a method
// added later is safe until it is put here.
var asyncMethods = map[string]bool{"sql": true, "exec": true, "query_row": true, "variable": true,
	"flavor": true, "version": true, "position": true, "replica_status": true, "gtid_executed": true,
	"change_source": true, "start_replica": true, "stop_replica": true, "reset_replica": true,
	"wait_for": true, "wait_and_stop": true, "wait_replicating": true, "set_read_only": true,
	"set_variable": true, "binary_logs": true, "errant_transactions": true, "locate_gtid": true}

func (s *State) registerServerType() {
	L := s.L
	mt := L.NewTypeMetatable(serverTypeName)
	methods := L.NewTable()
	for _, set := range []map[string]lua.LGFunction{s.serverMethods(), s.replicationMethods(), s.verbMethods(),
		s.machineMethods(), s.binlogMethods()} {
		for name, fn := range set {
			if asyncMethods[name] {
				fn = s.async(fn)
			}
			methods.RawSetString(name, L.NewFunction(fn))
		}
	}
	mt.RawSetString("__index", methods)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("server objects are read-only (tried to set %s)", L.Get(2))
		return 0
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(checkServer(L, 1).String()))
		return 1
	}))
	// Two objects for the same login are the same server: rep.server("db1")
	// == rep.server("127.0.0.1:3306") when the deployment says so.
	mt.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(checkServer(L, 1) == checkServer(L, 2)))
		return 1
	}))
}

// checkServer is the receiver of every method: argument n must be a server
// object, or the error says how the method was misused (db.sql instead of
// db:sql is the usual slip).
func checkServer(L *lua.LState, n int) *server.Server {
	ud, ok := L.Get(n).(*lua.LUserData)
	if ok {
		if sv, ok := ud.Value.(*server.Server); ok {
			return sv
		}
	}
	L.ArgError(n, "server expected (call methods with a colon: db:sql(...))")
	return nil
}

func (s *State) pushServer(L *lua.LState, sv *server.Server) {
	ud := L.NewUserData()
	ud.Value = sv
	L.SetMetatable(ud, L.GetTypeMetatable(serverTypeName))
	L.Push(ud)
}

// queryArgs reads the placeholder values that follow the query text.
func (s *State) queryArgs(L *lua.LState, from int) []any {
	var args []any
	for i := from; i <= L.GetTop(); i++ {
		v, err := s.fromLua(L.Get(i))
		if err != nil {
			L.ArgError(i, err.Error())
		}
		args = append(args, v)
	}
	return args
}

// db:sql(query, ...) → rows, columns. Rows is an array of tables keyed by
// column name; columns lists the names in the server's order.
func (s *State) serverSQL(L *lua.LState) int {
	sv := checkServer(L, 1)
	query := L.CheckString(2)
	res, err := sv.Query(L.Context(), query, s.queryArgs(L, 3)...)
	if err != nil {
		return s.raise(L, "sql", err)
	}
	rows, cols := s.resultToLua(L, res)
	L.Push(rows)
	L.Push(cols)
	return 2
}

// db:exec(query, ...) → rows affected, last insert id.
func (s *State) serverExec(L *lua.LState) int {
	sv := checkServer(L, 1)
	query := L.CheckString(2)
	res, err := sv.Exec(L.Context(), query, s.queryArgs(L, 3)...)
	if err != nil {
		return s.raise(L, "exec", err)
	}
	L.Push(lua.LNumber(res.RowsAffected))
	L.Push(lua.LNumber(res.LastInsertID))
	return 2
}

// db:query_row(query, ...) → the first row, or nil when there is none.
func (s *State) serverQueryRow(L *lua.LState) int {
	sv := checkServer(L, 1)
	query := L.CheckString(2)
	res, err := sv.Query(L.Context(), query, s.queryArgs(L, 3)...)
	if err != nil {
		return s.raise(L, "query_row", err)
	}
	if len(res.Rows) == 0 {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(s.rowToLua(L, res.Columns, res.Rows[0]))
	return 1
}

// db:variable(name) → the global variable's value (rep.null when NULL).
func (s *State) serverVariable(L *lua.LState) int {
	sv := checkServer(L, 1)
	name := L.CheckString(2)
	v, err := sv.Variable(L.Context(), name)
	if err != nil {
		return s.raise(L, "variable", err)
	}
	L.Push(s.toLua(v))
	return 1
}

// db:flavor() → "mariadb" or "mysql".
func (s *State) serverFlavor(L *lua.LState) int {
	fl, err := checkServer(L, 1).Flavor(L.Context())
	if err != nil {
		return s.raise(L, "flavor", err)
	}
	L.Push(lua.LString(fl.Kind.String()))
	return 1
}

// db:version() → "10.11.6"; the full string the server reports is
// db:variable("version").
func (s *State) serverVersion(L *lua.LState) int {
	fl, err := checkServer(L, 1).Flavor(L.Context())
	if err != nil {
		return s.raise(L, "version", err)
	}
	L.Push(lua.LString(fl.Version()))
	return 1
}

var serverOptions = optSpec{
	"user":            optString,
	"password":        optString,
	"name":            optString,
	"tls":             optStringOrTable,
	"connect_timeout": optDuration,
}

var tlsOptions = optSpec{
	"mode": optString, "ca": optString, "cert": optString, "key": optString, "server_name": optString,
}

// serverConfig resolves rep.server's first argument: a name from the
// deployment, or an address ("host:port", "host", "/path/to/socket").
func (s *State) serverConfig(L *lua.LState, target string, o options) (server.Config, error) {
	var cfg server.Config
	d := s.cfg.Deployment
	if d != nil {
		if _, ok := d.Servers[target]; ok {
			return d.ServerConfig(target)
		}
		// A bare word is a server name; give "host:port" for a host
		// outside the deployment.
		if !strings.ContainsAny(target, ":/") {
			return cfg, fmt.Errorf("no server named %q in %s (have: %s; give \"host:port\" for another server)",
				target, d.Path, strings.Join(d.Names(), ", "))
		}
	}
	host, port, socket, err := server.ParseAddress(target)
	if err != nil {
		return cfg, err
	}
	// An address that belongs to a deployment server is that server, so a
	// source found in a replica's status prints under its name.
	if name, ok := deploymentNameOf(d, host, port, socket); ok {
		return d.ServerConfig(name)
	}
	cfg = server.Config{Name: target, Host: host, Port: port, Socket: socket}
	if d != nil {
		cfg.User, cfg.Password, cfg.TLS = d.User.Name, d.User.Password, d.TLS
		cfg.ConnectTimeout = d.ConnectTimeout
	}
	return cfg, nil
}

func applyServerOptions(L *lua.LState, cfg *server.Config, o options) error {
	if o.has("name") {
		cfg.Name = o.str("name")
	}
	if o.has("user") {
		cfg.User = o.str("user")
		cfg.Password = ""
	}
	if o.has("password") {
		cfg.Password = server.Secret(o.str("password"))
	}
	if o.has("connect_timeout") {
		cfg.ConnectTimeout = o.duration("connect_timeout")
	}
	if o.has("tls") {
		tc, err := decodeTLS(o.value("tls"))
		if err != nil {
			return err
		}
		cfg.TLS = tc
	}
	return nil
}

// decodeTLS reads tls = "required" or tls = { ca = "...", ... }.
func decodeTLS(v lua.LValue) (server.TLSConfig, error) {
	switch x := v.(type) {
	case lua.LString:
		return server.TLSConfig{Mode: string(x)}, nil
	case *lua.LTable:
		if err := validateOptions(x, tlsOptions); err != nil {
			return server.TLSConfig{}, fmt.Errorf("tls: %w", err)
		}
		o := options{t: x}
		return server.TLSConfig{Mode: o.str("mode"), CA: o.str("ca"), Cert: o.str("cert"),
			Key: o.str("key"), ServerName: o.str("server_name")}, nil
	}
	return server.TLSConfig{}, fmt.Errorf("tls: want a mode string or a table, got %s", v.Type())
}

// rep.server(addr_or_name, opts) → a server object. The same name or
// address with the same user returns the same object, so a script shares
// one session per server (locks taken through one reference are seen
// through the other).
func (s *State) repServer(L *lua.LState) int {
	target := L.CheckString(1)
	o := checkOptions(L, 2, "server", serverOptions)
	sv, err := s.server(L, target, o)
	if err != nil {
		L.RaiseError("server: %v", err)
	}
	s.pushServer(L, sv)
	return 1
}

func (s *State) server(L *lua.LState, target string, o options) (*server.Server, error) {
	cfg, err := s.serverConfig(L, target, o)
	if err != nil {
		return nil, err
	}
	if err := applyServerOptions(L, &cfg, o); err != nil {
		return nil, err
	}
	if sv, ok := s.reg.lookup(cfg); ok {
		return sv, nil
	}
	sv, err := server.New(cfg)
	if err != nil {
		return nil, err
	}
	if s.observer != nil {
		sv.SetObserver(s.observer)
	}
	sv.SetProgress(s.progress)
	sv.SetDryRun(s.cfg.DryRun)
	sv.SetDeadlines(s.deadlines)
	s.reg.add(cfg, sv)
	return sv, nil
}

func deploymentNameOf(d *deploy.Deployment, host string, port int, socket string) (string, bool) {
	if d == nil {
		return "", false
	}
	for _, name := range d.Names() {
		sv := d.Servers[name]
		if (socket != "" && sv.Socket == socket) || (socket == "" && sv.Host == host && sv.Port == port) {
			return name, true
		}
	}
	// The address replicas use for a server (replication_host) is that
	// server too: a replica's source prints under its name and is reached
	// at the tool's address.
	for _, name := range d.Names() {
		sv := d.Servers[name]
		if sv.ReplicationHost == "" && sv.ReplicationPort == 0 {
			continue
		}
		cfg, _ := d.ServerConfig(name)
		if h, p := cfg.ReplicationAddress(); socket == "" && h == host && p == port {
			return name, true
		}
	}
	return "", false
}

var deadlineOptions = optSpec{"read": optDuration, "change": optDuration, "wait_grace": optDuration}

// rep.deadlines{read=, change=, wait_grace=} bounds every statement on
// every server for the rest of the run: read for statements that change
// nothing (status, variables), change for every other one, and a
// replication wait its own timeout plus wait_grace. Keys left out keep
// their value; it returns the deadlines before the call, in seconds, so a
// procedure can put them back. --timeout still bounds the whole run.
func (s *State) repDeadlines(L *lua.LState) int {
	o := checkOptions(L, 1, "deadlines", deadlineOptions)
	old := s.deadlines
	if old == (server.Deadlines{}) {
		old = server.DefaultDeadlines
	}
	d := old
	for key, field := range map[string]*time.Duration{"read": &d.Read, "change": &d.Change, "wait_grace": &d.WaitGrace} {
		if v := o.duration(key); v > 0 {
			*field = v
		}
	}
	s.deadlines = d
	for _, sv := range s.reg.order {
		sv.SetDeadlines(d)
	}
	t := L.CreateTable(0, 3)
	t.RawSetString("read", lua.LNumber(old.Read.Seconds()))
	t.RawSetString("change", lua.LNumber(old.Change.Seconds()))
	t.RawSetString("wait_grace", lua.LNumber(old.WaitGrace.Seconds()))
	L.Push(t)
	return 1
}

// db:with_session({ lock_wait_timeout = 2 }, fn, ...) → fn's results: fn
// runs with the session variables set on db's session, and their previous
// values come back afterwards on every path (fn raising, the run ending);
// when they cannot, the session is closed, so nothing later runs with
// them.
func (s *State) serverWithSession(L *lua.LState) int {
	sv := checkServer(L, 1)
	t := L.CheckTable(2)
	fn := L.CheckFunction(3)
	var names []string
	t.ForEach(func(k, _ lua.LValue) { names = append(names, lua.LVAsString(k)) })
	sort.Strings(names)
	vars := make([]server.SessionVar, 0, len(names))
	for _, n := range names {
		v, err := s.fromLua(t.RawGetString(n))
		if err != nil {
			L.ArgError(2, n+": "+err.Error())
		}
		vars = append(vars, server.SessionVar{Name: n, Value: v})
	}
	args := make([]lua.LValue, 0, L.GetTop())
	for i := 4; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	var results []lua.LValue
	var luaErr error
	err := sv.WithSession(L.Context(), vars, func() error {
		results, luaErr = s.callLua(L, fn, args...)
		return luaErr
	})
	if luaErr != nil {
		reraise(L, luaErr)
	}
	if err != nil {
		return s.raise(L, "with_session", err)
	}
	for _, v := range results {
		L.Push(v)
	}
	return len(results)
}
