package bindings

import (
	"bytes"
	"sort"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// boundNames walks the live API: the module (through its read-only
// proxy), rep.log, rep.roles, and each type's metatable __index table.
func boundNames(t *testing.T) []string {
	s, _ := newTestState(t)
	L := s.L
	s.topologyMeta(L)
	s.binlogReaderMeta(L)
	var names []string
	proxied := func(v lua.LValue) *lua.LTable {
		tb := v.(*lua.LTable)
		if mt, ok := tb.Metatable.(*lua.LTable); ok {
			if idx, ok := mt.RawGetString("__index").(*lua.LTable); ok {
				return idx
			}
		}
		return tb
	}
	mod := proxied(L.GetGlobal("replicant"))
	mod.ForEach(func(k, v lua.LValue) {
		switch k.String() {
		case "log", "roles":
			proxied(v).ForEach(func(k2, _ lua.LValue) { names = append(names, "rep."+k.String()+"."+k2.String()) })
		default:
			names = append(names, "rep."+k.String())
		}
	})
	for prefix, typ := range map[string]string{"server:": serverTypeName, "topology:": topologyTypeName, "config:": configTypeName,
		"gtid:": gtidTypeName, "binlog_events:": binlogReaderTypeName} {
		mt, ok := L.GetTypeMetatable(typ).(*lua.LTable)
		if !ok {
			t.Fatalf("no metatable %s", typ)
		}
		mt.RawGetString("__index").(*lua.LTable).ForEach(func(k, _ lua.LValue) { names = append(names, prefix+k.String()) })
	}
	sort.Strings(names)
	return names
}

func TestAPIDocCoversBindings(t *testing.T) {
	bound := boundNames(t)
	if len(bound) < 80 {
		t.Fatalf("walked only %d names: %v", len(bound), bound)
	}
	isBound := map[string]bool{}
	for _, n := range bound {
		isBound[n] = true
		if _, ok := LookupAPI(n); !ok {
			t.Errorf("%s is bound to Lua but has no entry in APIEntries (bindings/apidoc.go)", n)
		}
	}
	for _, e := range APIEntries {
		switch {
		case e.Class == "":
			if e.Summary == "" || len(e.Fields) == 0 {
				t.Errorf("topic %s has no summary or fields", e.Name)
			}
		case strings.HasPrefix(e.Name, "position."):
			// positions index by a function: checked by TestAPIDocPositionFields
		case !isBound[e.Name]:
			t.Errorf("doc entry %s names nothing bound to Lua", e.Name)
		}
		if e.Summary == "" || strings.HasSuffix(e.Summary, "…") {
			t.Errorf("%s: summary %q is empty or cut", e.Name, e.Summary)
		}
	}
}

func TestAPIDocPositionFields(t *testing.T) {
	s, _ := newTestState(t)
	err := s.RunString(`local p = replicant.position("mysql-bin.000003:1234")
assert(p.file == "mysql-bin.000003" and p.pos == 1234)`, "test.lua")
	if err != nil {
		t.Fatal(err)
	}
}

// The annotations are valid Lua and mention every bound function.
func TestLuaLSAnnotations(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteLuaLS(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	if _, err := parse.Parse(strings.NewReader(text), "replicant.d.lua"); err != nil {
		t.Fatalf("annotations do not parse: %v", err)
	}
	for _, want := range []string{"---@meta", "---@class Server", "---@class ReplicaStatus", "---@field seconds_behind integer?",
		"---@return ReplicaStatus?", "---@class Topology", "---@class Config", "---@class Gtid", "---@class Node"} {
		if !strings.Contains(text, want) {
			t.Errorf("annotations lack %q", want)
		}
	}
	for _, n := range boundNames(t) {
		n = strings.Replace(n, "rep.log.", "replicant_log.", 1)
		n = strings.Replace(n, "rep.roles.", "replicant_roles.", 1)
		n = strings.Replace(n, "rep.", "replicant.", 1)
		for from, to := range map[string]string{"server:": "Server:", "topology:": "Topology:", "config:": "Config:", "gtid:": "Gtid:", "binlog_events:": "BinlogEvents:"} {
			n = strings.Replace(n, from, to, 1)
		}
		if !strings.Contains(text, "function "+n+"(") && !strings.Contains(text, n+" = ") {
			t.Errorf("annotations lack %s", n)
		}
	}
}
