package bindings

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// topologyState is a state with rep.discover reachable as the global
// discover, whether or not the module has it wired yet.
func topologyState(t *testing.T) *State {
	t.Helper()
	s, _ := newTestState(t)
	s.L.SetGlobal("discover", s.L.NewFunction(s.topologyFunctions()["discover"]))
	return s
}

// A seed that does not answer is a node with its error, not a failed call;
// the topology object is read-only and its tables hold the same server
// objects as rep.server.
func TestDiscoverUnreachableSeed(t *testing.T) {
	s, out := newTestState(t)
	s.L.SetGlobal("discover", s.L.NewFunction(s.topologyFunctions()["discover"]))
	err := s.RunString(`
local rep = require "replicant"
local db = rep.server("127.0.0.1:1", { user = "u", connect_timeout = "1s" })
local topo = discover(db, { timeout = "2s" })
assert(topo:primary() == nil, "primary")
assert(#topo:replicas() == 0, "replicas")
local ps = topo:problems()
assert(#ps == 2, "problems: " .. #ps)
assert(ps[1].kind == "unreachable" and ps[1].severity == "error", ps[1].kind)
assert(ps[1].server == db and ps[1].name == "127.0.0.1:1", "problem server")
assert(ps[1].message:find("connection refused"), ps[1].message)
assert(ps[2].kind == "no_primary" and ps[2].server == nil, ps[2].kind)
local n = topo:nodes()[1]
assert(n.server == db and n.reachable == false and n.role == "unknown" and n.via == "seed", "node")
assert(n.error:find("connection refused") and n.read_only == nil, "node fields")
assert(topo:node("127.0.0.1:1").server == db and topo:node(db).name == "127.0.0.1:1", "node()")
local c = topo:candidates()
assert(#c == 1 and c[1].excluded and c[1].rank == nil and c[1].server == db, "candidates")
assert(c[1].reasons[1]:find("^unreachable: connect: "), c[1].reasons[1])
local ok, err = pcall(function() topo.primary = 1 end)
assert(not ok and tostring(err):find("topology objects are read%-only"), tostring(err))
ok, err = pcall(topo.candidates, topo, { max_lagg = 1 })
assert(not ok and tostring(err):find("unknown option max_lagg"), tostring(err))
assert(tostring(topo):find("^127.0.0.1:1 %[unreachable%] connect: "), tostring(topo))
topo:print()
`, "test.lua")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "127.0.0.1:1 [unreachable] connect: ") ||
		!strings.HasSuffix(out.String(), "[no_primary]\n") {
		t.Errorf("print wrote:\n%s", out)
	}
}

func TestDiscoverArguments(t *testing.T) {
	s := topologyState(t)
	for code, want := range map[string]string{
		`discover()`:                       "no deployment",
		`discover({})`:                     "empty list of servers",
		`discover(5)`:                      "want a server, a name or an address, got number",
		`discover("127.0.0.1:1", {x = 1})`: "unknown option x",
		`discover({"127.0.0.1:1"})`:        "no user to log in as",
	} {
		err := s.RunString(code, "test.lua")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", code, err, want)
		}
	}
}

// The metatable is made once and shared by every topology object.
func TestTopologyMetaIsShared(t *testing.T) {
	s, _ := newTestState(t)
	a, b := s.topologyMeta(s.L), s.topologyMeta(s.L)
	if a != b || s.L.GetTypeMetatable(topologyTypeName) != lua.LValue(a) {
		t.Error("metatable made twice")
	}
}
