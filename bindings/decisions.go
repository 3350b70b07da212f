package bindings

import (
	"bytes"
	"context"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/mycnf"
	"github.com/replicant-lua/replicant-lua/runtime/roles"
	"github.com/replicant-lua/replicant-lua/runtime/server"
	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

// The safety decisions procedures ask for: whether the primary is dead,
// whether the servers a procedure repoints are fit for it, whether a
// server could follow another. Each is made once, in runtime/topology;
// these methods only hand the verdicts to Lua.

// decisionMethods are the topology methods of this file.
func (s *State) decisionMethods() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"verdict":        s.topoVerdict,
		"bystanders":     s.topoBystanders,
		"errant":         s.topoErrant,
		"recovery":       s.topoRecovery,
		"falling_behind": s.topoFallingBehind,
		"failover_loss":  s.topoFailoverLoss,
	}
}

// topo:failover_loss(db) → {semi_sync=, text=}: what promoting db, the
// most advanced replica after a drain, may lose of what the dead primary
// acknowledged (topology.FailoverLoss), for the failover's report.
func (s *State) topoFailoverLoss(L *lua.LState) int {
	t := checkTopology(L, 1)
	semi, text := t.FailoverLoss(s.nodeArg(L, t, 2))
	r := L.NewTable()
	r.RawSetString("semi_sync", lua.LBool(semi))
	r.RawSetString("text", lua.LString(text))
	L.Push(r)
	return 1
}

// topo:verdict() → {state=, primary=, name=, reason=, connected={...}}:
// state is "alive", "dead" (neither the tool nor any replica reaches it),
// "unreachable" (the tool cannot use it, but it runs: it answered with an
// error, or a replica's receiver is connected to it) or "none" (no
// primary found). A failover goes ahead only on "dead".
func (s *State) topoVerdict(L *lua.LState) int {
	v := checkTopology(L, 1).PrimaryVerdict()
	t := L.NewTable()
	t.RawSetString("state", lua.LString(v.State))
	t.RawSetString("reason", lua.LString(v.Reason))
	if v.Primary != nil {
		t.RawSetString("primary", s.serverValue(L, v.Primary))
		t.RawSetString("name", lua.LString(v.Primary.Name))
	}
	t.RawSetString("connected", s.serverList(L, v.Connected))
	L.Push(t)
	return 1
}

var bystanderSpec = optSpec{"skip": optTable}

// topo:bystanders(primary, candidate, {skip={"db3", ...}}) → one entry per
// server the switchover would repoint: {server=, name=, problems={...},
// skipped=}. An entry with problems that is not skipped stops the
// procedure before anything changes.
func (s *State) topoBystanders(L *lua.LState) int {
	t := checkTopology(L, 1)
	primary, candidate := s.nodeArg(L, t, 2), s.nodeArg(L, t, 3)
	o := checkOptions(L, 4, "bystanders", bystanderSpec)
	skip := map[string]bool{}
	if st, ok := o.value("skip").(*lua.LTable); ok {
		st.ForEach(func(_, v lua.LValue) {
			name := v.String()
			if ud, ok := v.(*lua.LUserData); ok {
				if sv, ok := ud.Value.(*server.Server); ok {
					name = sv.Config().Name
				}
			}
			if t.Node(name) == nil {
				L.RaiseError("bystanders: --skip %s: no such server in the topology", name)
			}
			skip[name] = true
		})
	}
	bs := t.Bystanders(primary, candidate, func(n *topology.Node) bool { return skip[n.Name] })
	out := L.CreateTable(len(bs), 0)
	for _, b := range bs {
		e := L.NewTable()
		e.RawSetString("server", s.serverValue(L, b.Node))
		e.RawSetString("name", lua.LString(b.Node.Name))
		e.RawSetString("skipped", lua.LBool(b.Skipped))
		e.RawSetString("problems", stringList(L, b.Problems))
		out.Append(e)
	}
	L.Push(out)
	return 1
}

// topo:errant(db, against) → nil when db could follow against (against's
// GTID state is read again first), or {gtids=, reasons={...}}: what db
// has that against does not, by the flavor's rules (MariaDB's binlog
// state and positions, with or without strict mode; MySQL's
// GTID_SUBTRACT). against defaults to the primary.
func (s *State) topoErrant(L *lua.LState) int {
	t := checkTopology(L, 1)
	n := s.nodeArg(L, t, 2)
	ref := t.Primary()
	if L.Get(3) != lua.LNil {
		ref = s.nodeArg(L, t, 3)
	}
	if ref == nil {
		L.RaiseError("errant: no primary to compare %s with; give the server to compare with", n.Name)
	}
	gtids, why, err := t.Errant(L.Context(), n, ref)
	if err != nil {
		return s.raise(L, "errant", err)
	}
	if len(gtids) == 0 {
		L.Push(lua.LNil)
		return 1
	}
	e := L.NewTable()
	e.RawSetString("gtids", lua.LString(strings.Join(gtids, ",")))
	e.RawSetString("reasons", stringList(L, why))
	L.Push(e)
	return 1
}

// topo:recovery(fenced?) → {action=, server=, name=, reason=, gone=}:
// action is "unfence" when the fenced primary (server) may take writes
// again, since no reachable server has a transaction it lacks; "promote"
// when server, ahead of the fenced primary, has every transaction a
// reachable server has and the servers in gone (names) are dead; nil when
// recover must not act, and reason says why. fenced names the fenced
// primary when it is not the tree's (the switchover's candidate died
// after others followed it).
func (s *State) topoRecovery(L *lua.LState) int {
	top := checkTopology(L, 1)
	var fenced *topology.Node
	if L.Get(2) != lua.LNil {
		fenced = s.nodeArg(L, top, 2)
	}
	r := top.RecoveryOf(fenced)
	t := L.NewTable()
	if r.Action != "" {
		t.RawSetString("action", lua.LString(r.Action))
	}
	t.RawSetString("reason", lua.LString(r.Reason))
	if r.Node != nil {
		t.RawSetString("server", s.serverValue(L, r.Node))
		t.RawSetString("name", lua.LString(r.Node.Name))
	}
	gone := L.CreateTable(len(r.Gone), 0)
	for _, n := range r.Gone {
		gone.Append(lua.LString(n.Name))
	}
	t.RawSetString("gone", gone)
	L.Push(t)
	return 1
}

// topo:falling_behind(earlier) → problems like topo:problems(): the
// replicas whose lag grew since the earlier discovery.
func (s *State) topoFallingBehind(L *lua.LState) int {
	t, earlier := checkTopology(L, 1), checkTopology(L, 2)
	L.Push(s.problemTable(L, t.FallingBehind(earlier)))
	return 1
}

// stringList is a Lua array of the strings.
func stringList(L *lua.LState, items []string) *lua.LTable {
	t := L.CreateTable(len(items), 0)
	for _, it := range items {
		t.Append(lua.LString(it))
	}
	return t
}

// nodeArg reads argument i as a server, a name or an address, and finds
// its node.
func (s *State) nodeArg(L *lua.LState, t *topology.Topology, i int) *topology.Node {
	var n *topology.Node
	switch x := L.Get(i).(type) {
	case lua.LString:
		n = t.Node(string(x))
	case *lua.LUserData:
		if sv, ok := x.Value.(*server.Server); ok {
			for _, c := range t.Nodes() {
				if c.Server == sv {
					n = c
				}
			}
		}
	default:
		L.ArgError(i, "a server, a name or an address expected")
	}
	if n == nil {
		L.ArgError(i, L.ToStringMeta(L.Get(i)).String()+" is not in this topology")
	}
	return n
}

// optionReadOnly reads read-only from a deployment server's option file
// through its machine, for check. known is false where the deployment
// gives no machine or option file, or the file cannot be read.
func (s *State) optionReadOnly(ctx context.Context) func(*topology.Node) (bool, bool) {
	return func(n *topology.Node) (bool, bool) {
		d := s.cfg.Deployment
		if d == nil || n.Server == nil {
			return false, false
		}
		entry, ok := d.Servers[n.Server.Config().Name]
		if !ok || entry.Machine == nil || entry.OptionFile == "" {
			return false, false
		}
		m, ok := s.reg.machines[n.Server]
		if !ok {
			var err error
			if m, err = machine.New(*entry.Machine); err != nil {
				return false, false
			}
		}
		data, err := m.ReadFile(ctx, entry.OptionFile)
		if err != nil {
			return false, false
		}
		f, err := mycnf.Parse(bytes.NewReader(data), entry.OptionFile)
		if err != nil {
			return false, false
		}
		// As the server reads it: every group it reads, included files too.
		c, err := mycnf.Resolve(f, roles.OptionFS(ctx, m))
		if err != nil {
			return false, false
		}
		if o, ok := c.Get(n.Flavor.OptionGroups(), "read-only"); ok {
			return !o.HasValue || isTrue(o.Value), true
		}
		return false, true
	}
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "on", "true", "yes":
		return true
	}
	return false
}
