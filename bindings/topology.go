package bindings

import (
	"fmt"
	"net"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

const topologyTypeName = "replicant.topology"

// topologyFunctions are the module functions of this file: rep.discover.
func (s *State) topologyFunctions() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{"discover": s.repDiscover}
}

var (
	discoverOptions = optSpec{"lag_threshold": optDuration, "timeout": optDuration, "max_servers": optInt,
		"option_files": optBool}
	candidateSpec = optSpec{"max_lag": optDuration, "promotion": optTable}
)

// rep.discover(seed_or_list, {lag_threshold=, timeout=, max_servers=}) →
// a topology object. The seed is a server object, a name or an address, or
// a list of them; nothing means every server of the deployment. timeout
// bounds the reads of each server (default 10s), lag_threshold is the lag
// that makes a problem (default 60s).
func (s *State) repDiscover(L *lua.LState) int {
	o := checkOptions(L, 2, "discover", discoverOptions)
	seeds := s.discoverSeeds(L)
	opts := topology.Options{
		NewServer:     s.discoveredServer(L, seeds[0]),
		LagThreshold:  o.duration("lag_threshold"),
		ServerTimeout: o.duration("timeout"),
		MaxServers:    o.int("max_servers"),
	}
	if o.bool("option_files") {
		opts.OptionReadOnly = s.optionReadOnly(L.Context())
	}
	if d := s.cfg.Deployment; d != nil {
		opts.ReplicationTLS = d.ReplCA != ""
		opts.Member = func(sv *server.Server) bool {
			_, ok := d.Servers[sv.Config().Name]
			return ok
		}
	}
	t, err := topology.Discover(L.Context(), seeds, opts)
	if err != nil {
		return s.raise(L, "discover", err)
	}
	ud := L.NewUserData()
	ud.Value = t
	L.SetMetatable(ud, s.topologyMeta(L))
	L.Push(ud)
	return 1
}

// discoverSeeds reads argument 1: a server, a name or address, a list of
// them, or nil for the whole deployment.
func (s *State) discoverSeeds(L *lua.LState) []*server.Server {
	var items []lua.LValue
	switch v := L.Get(1).(type) {
	case *lua.LNilType:
		d := s.cfg.Deployment
		if d == nil {
			L.RaiseError("discover: no deployment (give one with -d FILE), so give a server, a name or an address")
		}
		for _, name := range d.Names() {
			items = append(items, lua.LString(name))
		}
	case *lua.LTable:
		for i := 1; i <= v.Len(); i++ {
			items = append(items, v.RawGetInt(i))
		}
		if len(items) == 0 {
			L.ArgError(1, "discover: empty list of servers")
		}
	default:
		items = []lua.LValue{v}
	}
	seeds := make([]*server.Server, 0, len(items))
	for _, it := range items {
		switch x := it.(type) {
		case lua.LString:
			sv, err := s.server(L, string(x), options{t: L.NewTable()})
			if err != nil {
				L.RaiseError("discover: %q: %v", string(x), err)
			}
			seeds = append(seeds, sv)
		case *lua.LUserData:
			sv, ok := x.Value.(*server.Server)
			if !ok {
				L.ArgError(1, "discover: want servers, names or addresses")
			}
			seeds = append(seeds, sv)
		default:
			L.ArgError(1, fmt.Sprintf("discover: want a server, a name or an address, got %s", it.Type()))
		}
	}
	return seeds
}

// discoveredServer makes the server object for an address found on the
// way, through s.server so that it is the object rep.server returns for
// it: a deployment server under its name and credentials, another address
// with the deployment's credentials. Without a deployment it logs in as
// the seed does, as if the script had called rep.server(addr, {user=,
// password=, ...}) with the seed's settings. Discover calls it from this
// goroutine only.
func (s *State) discoveredServer(L *lua.LState, seed *server.Server) func(string, int) (*server.Server, error) {
	return func(host string, port int) (*server.Server, error) {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		o := options{t: L.NewTable()}
		if s.cfg.Deployment == nil {
			o.t = seedLogin(L, seed.Config())
		}
		return s.server(L, addr, o)
	}
}

// seedLogin is the options table of rep.server that logs in as cfg. It
// never reaches a script.
func seedLogin(L *lua.LState, cfg server.Config) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("user", lua.LString(cfg.User))
	if p := cfg.Password.Reveal(); p != "" {
		t.RawSetString("password", lua.LString(p))
	}
	if cfg.ConnectTimeout > 0 {
		t.RawSetString("connect_timeout", lua.LNumber(cfg.ConnectTimeout.Seconds()))
	}
	if cfg.TLS != (server.TLSConfig{}) {
		tls := L.NewTable()
		for k, v := range map[string]string{"mode": cfg.TLS.Mode, "ca": cfg.TLS.CA, "cert": cfg.TLS.Cert,
			"key": cfg.TLS.Key, "server_name": cfg.TLS.ServerName} {
			if v != "" {
				tls.RawSetString(k, lua.LString(v))
			}
		}
		t.RawSetString("tls", tls)
	}
	return t
}

// topologyMeta is the metatable of topology objects, made on first use.
// The objects are read-only: methods only, no fields to set.
func (s *State) topologyMeta(L *lua.LState) *lua.LTable {
	if mt, ok := L.GetTypeMetatable(topologyTypeName).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTypeMetatable(topologyTypeName)
	methods := map[string]lua.LGFunction{
		"primary":    s.topoPrimary,
		"replicas":   s.topoReplicas,
		"candidates": s.topoCandidates,
		"problems":   s.topoProblems,
		"nodes":      s.topoNodes,
		"node":       s.topoNode,
		"print":      s.topoPrint,
	}
	for k, f := range s.decisionMethods() {
		methods[k] = f
	}
	mt.RawSetString("__index", L.SetFuncs(L.NewTable(), methods))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("topology objects are read-only (tried to set %s)", L.Get(2))
		return 0
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(checkTopology(L, 1).String()))
		return 1
	}))
	return mt
}

func checkTopology(L *lua.LState, n int) *topology.Topology {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if t, ok := ud.Value.(*topology.Topology); ok {
			return t
		}
	}
	L.ArgError(n, "topology expected (call methods with a colon: topo:primary())")
	return nil
}

// serverValue is the node's server object, or nil for an address no
// server object could be made for.
func (s *State) serverValue(L *lua.LState, n *topology.Node) lua.LValue {
	if n == nil || n.Server == nil {
		return lua.LNil
	}
	s.pushServer(L, n.Server)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

func (s *State) serverList(L *lua.LState, nodes []*topology.Node) *lua.LTable {
	out := L.CreateTable(len(nodes), 0)
	for _, n := range nodes {
		if v := s.serverValue(L, n); v != lua.LNil {
			out.Append(v)
		}
	}
	return out
}

// topo:primary() → the primary's server object, or nil.
func (s *State) topoPrimary(L *lua.LState) int {
	L.Push(s.serverValue(L, checkTopology(L, 1).Primary()))
	return 1
}

// topo:replicas() → every server under the primary, depth first.
func (s *State) topoReplicas(L *lua.LState) int {
	L.Push(s.serverList(L, checkTopology(L, 1).Replicas()))
	return 1
}

// topo:print() writes the drawing to the run's stdout.
func (s *State) topoPrint(L *lua.LState) int {
	if err := checkTopology(L, 1).Print(s.cfg.Stdout); err != nil {
		L.RaiseError("print: %v", err)
	}
	return 0
}

// topo:problems() → {severity=, kind=, server=, name=, message=}, errors
// first; server and name are nil for a problem of the whole topology.
func (s *State) topoProblems(L *lua.LState) int {
	L.Push(s.problemList(L, checkTopology(L, 1)))
	return 1
}

// problemList is the table topo:problems() returns.
func (s *State) problemList(L *lua.LState, t *topology.Topology) *lua.LTable {
	return s.problemTable(L, t.Problems())
}

// problemTable is a list of problems as Lua tables.
func (s *State) problemTable(L *lua.LState, ps []topology.Problem) *lua.LTable {
	out := L.CreateTable(len(ps), 0)
	for _, p := range ps {
		e := L.NewTable()
		e.RawSetString("severity", lua.LString(p.Severity))
		e.RawSetString("kind", lua.LString(p.Kind))
		e.RawSetString("message", lua.LString(p.Message))
		if p.Node != nil {
			e.RawSetString("name", lua.LString(p.Node.Name))
			e.RawSetString("server", s.serverValue(L, p.Node))
		}
		out.Append(e)
	}
	return out
}

// topo:candidates({max_lag=, promotion={name=rule}}) → {server=, name=,
// rank=, excluded=, reasons={...}}, best first; rank is nil when excluded.
// Promotion rules come from the deployment; the option overrides them.
func (s *State) topoCandidates(L *lua.LState) int {
	t := checkTopology(L, 1)
	o := checkOptions(L, 2, "candidates", candidateSpec)
	rules := map[string]string{}
	if d := s.cfg.Deployment; d != nil {
		for name, sv := range d.Servers {
			rules[name] = sv.Promotion
		}
	}
	if pt, ok := o.value("promotion").(*lua.LTable); ok {
		var bad error
		pt.ForEach(func(k, v lua.LValue) {
			if r, ok := v.(lua.LString); ok && deploy.ValidPromotion(string(r)) {
				rules[k.String()] = string(r)
			} else if bad == nil {
				bad = fmt.Errorf("promotion %s = %s: want prefer, neutral, prefer_not or must_not", k, v)
			}
		})
		if bad != nil {
			L.RaiseError("candidates: %v", bad)
		}
	}
	cs := t.Candidates(topology.CandidateOptions{
		Promotion: func(n *topology.Node) string { return rules[n.Name] },
		MaxLag:    o.duration("max_lag"),
	})
	out := L.CreateTable(len(cs), 0)
	for _, c := range cs {
		e := L.NewTable()
		e.RawSetString("name", lua.LString(c.Node.Name))
		e.RawSetString("server", s.serverValue(L, c.Node))
		if !c.Excluded {
			e.RawSetString("rank", lua.LNumber(c.Rank))
		}
		e.RawSetString("excluded", lua.LBool(c.Excluded))
		e.RawSetString("reasons", stringList(L, c.Reasons))
		out.Append(e)
	}
	L.Push(out)
	return 1
}

// topo:nodes() → a plain table per server, seeds first.
func (s *State) topoNodes(L *lua.LState) int {
	L.Push(s.nodeList(L, checkTopology(L, 1)))
	return 1
}

// nodeList is the table topo:nodes() returns.
func (s *State) nodeList(L *lua.LState, t *topology.Topology) *lua.LTable {
	nodes := t.Nodes()
	out := L.CreateTable(len(nodes), 0)
	for _, n := range nodes {
		out.Append(s.nodeTable(L, n))
	}
	return out
}

// topo:node(name_or_address_or_server) → its node table, or nil.
func (s *State) topoNode(L *lua.LState) int {
	t := checkTopology(L, 1)
	for _, n := range t.Nodes() {
		switch x := L.Get(2).(type) {
		case lua.LString:
			if n.Name != string(x) && n.Address() != string(x) {
				continue
			}
		case *lua.LUserData:
			if sv, ok := x.Value.(*server.Server); !ok || sv != n.Server {
				continue
			}
		default:
			L.ArgError(2, "a name, an address or a server expected")
		}
		L.Push(s.nodeTable(L, n))
		return 1
	}
	L.Push(lua.LNil)
	return 1
}

// nodeTable is what scripts see of a node. Fields that do not exist on
// the server's flavor (super_read_only on MariaDB, gtid_strict_mode on
// MySQL) are nil, as is everything but the name, address, role, source
// and error of an unreachable server.
func (s *State) nodeTable(L *lua.LState, n *topology.Node) *lua.LTable {
	t := L.NewTable()
	str := func(k, v string) {
		if v != "" {
			t.RawSetString(k, lua.LString(v))
		}
	}
	boolean := func(k string, v bool) { t.RawSetString(k, lua.LBool(v)) }
	optional := func(k string, v *bool) {
		if v != nil {
			boolean(k, *v)
		}
	}
	t.RawSetString("server", s.serverValue(L, n))
	str("name", n.Name)
	str("address", n.Address())
	str("role", string(n.Role))
	str("via", n.Via)
	boolean("outside", n.Outside)
	boolean("reachable", n.Reachable())
	t.RawSetString("source", s.serverValue(L, n.Source))
	t.RawSetString("replicas", s.serverList(L, n.Replicas))
	if !n.Reachable() {
		str("error", n.Err.Error())
		return t
	}
	str("flavor", n.Flavor.Kind.String())
	str("version", n.Flavor.Version())
	t.RawSetString("server_id", s.toLua(n.ServerID))
	str("server_uuid", n.ServerUUID)
	boolean("read_only", n.ReadOnly)
	optional("super_read_only", n.SuperReadOnly)
	boolean("log_bin", n.LogBin)
	boolean("log_replica_updates", n.LogReplicaUpdates)
	str("binlog_format", n.BinlogFormat)
	optional("gtid_strict_mode", n.GTIDStrictMode)
	str("gtid_mode", n.GTIDMode)
	str("errant", n.Errant)
	if n.SemiSync != nil {
		t.RawSetString("semi_sync", semiSyncTable(L, *n.SemiSync))
	}
	s.nodeGTIDs(L, t, n)
	if n.Lag != nil {
		t.RawSetString("lag", lua.LNumber(*n.Lag))
	}
	if n.Replica != nil && n.Replica.SQLDelay > 0 {
		t.RawSetString("delay", lua.LNumber(n.Replica.SQLDelay))
	}
	if n.Replica != nil {
		gf := n.Flavor.GTIDFlavor()
		if rs, err := s.replicaStatusTable(L, n.Replica, gf); err == nil {
			t.RawSetString("replica_status", rs)
		}
	}
	if len(n.Partial) > 0 {
		str("error", n.Partial[0].Error())
	}
	return t
}

func (s *State) nodeGTIDs(L *lua.LState, t *lua.LTable, n *topology.Node) {
	set := func(k string, g gtid.Set) {
		if g.Flavor() != "" {
			t.RawSetString(k, newValue(L, g, gtidTypeName))
		}
	}
	set("gtid_executed", n.GTIDExecuted)
	if n.Flavor.IsMariaDB() {
		set("gtid_binlog_pos", n.GTIDBinlogPos)
		set("gtid_slave_pos", n.GTIDSlavePos)
		set("gtid_current_pos", n.GTIDCurrentPos)
		t.RawSetString("gtid_binlog_state", lua.LString(n.BinlogState.String()))
	}
}
