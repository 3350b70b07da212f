package bindings

import (
	"context"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Version is the tool's version (rep.version): the command sets it to the
// module version the Go toolchain recorded in the binary.
var Version = "dev"

// newModule builds the replicant module. Scripts get a read-only proxy: a
// write such as `rep.server = nil` raises instead of silently replacing an
// API function.
func (s *State) newModule() *lua.LTable {
	L := s.L
	api := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"server":     s.repServer,
		"deadlines":  s.repDeadlines,
		"servers":    s.repServers,
		"deployment": s.repDeployment,
		"sleep":      s.async(s.repSleep),
		"parallel":   s.repParallel,
		"position":   s.repPosition,
		"gtid":       s.repGTID,
		"raise":      s.repRaise,
		"to_json":    s.repToJSON,
	})
	L.SetFuncs(api, s.procedureFunctions())
	L.SetFuncs(api, s.topologyFunctions())
	L.SetFuncs(api, s.backupFunctions())
	L.SetFuncs(api, s.binlogFunctions())
	api.RawSetString("log", readOnly(L, L.SetFuncs(L.NewTable(), s.logFunctions()), "replicant.log"))
	api.RawSetString("roles", s.newRolesTable())
	api.RawSetString("null", s.null)
	api.RawSetString("version", lua.LString(Version))
	return readOnly(L, api, "replicant")
}

// readOnly wraps t in an empty table whose reads go to t and whose writes
// raise an error naming the module and key.
func readOnly(L *lua.LState, t *lua.LTable, name string) *lua.LTable {
	proxy := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s is read-only: cannot set %s", name, L.Get(2).String())
		return 0
	}))
	mt.RawSetString("__metatable", lua.LString("read-only module "+name))
	L.SetMetatable(proxy, mt)
	return proxy
}

// rep.servers() → every server of the deployment, in name order;
// rep.servers("db1", "db3") → those.
func (s *State) repServers(L *lua.LState) int {
	var names []string
	if L.GetTop() == 0 {
		if s.cfg.Deployment == nil {
			L.RaiseError("servers: no deployment (give one with -d FILE)")
		}
		names = s.cfg.Deployment.Names()
	}
	for i := 1; i <= L.GetTop(); i++ {
		names = append(names, L.CheckString(i))
	}
	out := L.CreateTable(len(names), 0)
	for _, n := range names {
		sv, err := s.server(L, n, options{t: L.NewTable()})
		if err != nil {
			L.RaiseError("servers: %q: %v", n, err)
		}
		s.pushServer(L, sv)
		out.Append(L.Get(-1))
		L.Pop(1)
	}
	L.Push(out)
	return 1
}

// rep.deployment() → a plain description of the deployment (no secrets),
// or nil when the run has none.
func (s *State) repDeployment(L *lua.LState) int {
	d := s.cfg.Deployment
	if d == nil {
		L.Push(lua.LNil)
		return 1
	}
	t := L.NewTable()
	t.RawSetString("path", lua.LString(d.Path))
	t.RawSetString("user", lua.LString(d.User.Name))
	t.RawSetString("repl_user", lua.LString(d.ReplUser.Name))
	servers := L.NewTable()
	names := L.NewTable()
	for _, n := range d.Names() {
		sp := d.Servers[n]
		e := L.NewTable()
		e.RawSetString("name", lua.LString(n))
		e.RawSetString("host", lua.LString(sp.Host))
		e.RawSetString("port", lua.LNumber(sp.Port))
		e.RawSetString("socket", lua.LString(sp.Socket))
		if cfg, err := d.ServerConfig(n); err == nil {
			rh, rp := cfg.ReplicationAddress()
			e.RawSetString("replication_host", lua.LString(rh))
			e.RawSetString("replication_port", lua.LNumber(rp))
		}
		promotion := sp.Promotion
		if promotion == "" {
			promotion = "neutral"
		}
		e.RawSetString("promotion", lua.LString(promotion))
		if sp.Role != "" {
			e.RawSetString("role", lua.LString(sp.Role))
		}
		if sp.RoleSource != "" {
			e.RawSetString("role_master", lua.LString(sp.RoleSource))
		}
		servers.RawSetString(n, e)
		names.Append(lua.LString(n))
	}
	t.RawSetString("servers", servers)
	t.RawSetString("names", names)
	proxies := L.NewTable()
	for _, p := range d.Proxies {
		pt := L.NewTable()
		pt.RawSetString("kind", lua.LString(p.Kind))
		pt.RawSetString("socket", lua.LString(p.Socket))
		pt.RawSetString("backend", lua.LString(p.Backend))
		srv := L.NewTable()
		for k, v := range p.Servers {
			srv.RawSetString(k, lua.LString(v))
		}
		pt.RawSetString("servers", srv)
		proxies.Append(pt)
	}
	t.RawSetString("proxies", proxies)
	L.Push(t)
	return 1
}

// rep.sleep(duration) waits, and is cut short by the run's deadline or a
// cancel.
func (s *State) repSleep(L *lua.LState) int {
	d, err := toDuration(L.Get(1))
	if err != nil {
		L.ArgError(1, err.Error())
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-L.Context().Done():
		L.RaiseError("sleep: %v", context.Cause(L.Context()))
	}
	return 0
}
