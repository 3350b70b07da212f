package bindings

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// prettyOf evaluates a Lua expression and pretty-prints its value.
func prettyOf(t *testing.T, s *State, expr string) string {
	t.Helper()
	if err := s.L.DoString("return " + expr); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	v := s.L.Get(-1)
	s.L.Pop(1)
	return s.Pretty(v)
}

func TestPrettyValues(t *testing.T) {
	s, _ := newTestState(t)
	cases := []struct{ expr, want string }{
		{`nil`, `nil`},
		{`true`, `true`},
		{`42`, `42`},
		{`1.5`, `1.5`},
		{`"1"`, `"1"`},
		{`"a\"b\\c\n\t"`, `"a\"b\\c\n\t"`},
		{`"\0011"`, `"\0011"`},
		{`"\255"`, `"\255"`},
		{`"héllo"`, `"héllo"`},
		{`{}`, `{}`},
		{`{ 1, 2, 3 }`, `{ 1, 2, 3 }`},
		{`{ b = 2, a = { 1, 2 } }`, `{ a = { 1, 2 }, b = 2 }`},
		{`{ 1, 2, x = "y" }`, `{ 1, 2, x = "y" }`},
		{`{ [1] = "a", [3] = "c" }`, `{ "a", [3] = "c" }`},
		{`{ ["two words"] = 1, ["end"] = 2, [2.5] = 3, [true] = 4 }`,
			`{ [2.5] = 3, ["end"] = 2, ["two words"] = 1, [true] = 4 }`},
		{`{ z = 1, [10] = 2, a = 3, [-1] = 4 }`, `{ [-1] = 4, [10] = 2, a = 3, z = 1 }`},
		{`replicant.null`, `null`},
		{`setmetatable({}, { __tostring = function() return "custom" end })`, `custom`},
	}
	for _, c := range cases {
		if got := prettyOf(t, s, c.expr); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.expr, got, c.want)
		}
	}
}

func TestPrettyQuoteRoundTrips(t *testing.T) {
	s, _ := newTestState(t)
	for _, str := range []string{"plain", "tab\there", "\x00\x01\x7f", "\xff\xfe1", "ünï\u200bcode", "\\\"'"} {
		quoted := luaQuote(str)
		if err := s.L.DoString("return " + quoted); err != nil {
			t.Fatalf("%q quoted as %s does not parse: %v", str, quoted, err)
		}
		back := s.L.Get(-1)
		s.L.Pop(1)
		if got := lua.LVAsString(back); got != str {
			t.Errorf("%q quoted as %s reads back as %q", str, quoted, got)
		}
	}
}

func TestPrettyLongTableBreaksLines(t *testing.T) {
	s, _ := newTestState(t)
	got := prettyOf(t, s, `{ name = "db1", host = "127.0.0.1", port = 3306, promotion = "prefer", tags = { "a", "b" } }`)
	want := `{
  host = "127.0.0.1",
  name = "db1",
  port = 3306,
  promotion = "prefer",
  tags = { "a", "b" },
}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	nested := prettyOf(t, s, `{ servers = { db1 = { port = 3306, host = "127.0.0.1", socket = "/var/run/mysqld/mysql-db1.sock" }, db2 = { port = 3307, host = "127.0.0.1", socket = "/var/run/mysqld/mysql-db2.sock" } } }`)
	if !strings.Contains(nested, "\n    db1 = {\n      host = \"127.0.0.1\",") {
		t.Errorf("nested tables not indented by depth:\n%s", nested)
	}
}

func TestPrettyCyclesAndDepth(t *testing.T) {
	s, _ := newTestState(t)
	if got := prettyOf(t, s, `(function() local t = { name = "x" }; t.self = t; return t end)()`); got != `{ name = "x", self = <cycle> }` {
		t.Errorf("cycle: %s", got)
	}
	// A table seen twice on different branches is not a cycle.
	if got := prettyOf(t, s, `(function() local s = { 1 }; return { a = s, b = s } end)()`); got != `{ a = { 1 }, b = { 1 } }` {
		t.Errorf("shared: %s", got)
	}
	got := prettyOf(t, s, `(function() local t = {}; local c = t; for i = 1, 20 do c.n = {}; c = c.n end; return t end)()`)
	if !strings.Contains(got, "{...}") || strings.Count(got, "n =") != prettyMaxDepth {
		t.Errorf("depth limit not applied:\n%s", got)
	}
}

func TestPrettyShowsModuleAndErrorObjects(t *testing.T) {
	s, _ := newTestState(t)
	got := prettyOf(t, s, `replicant`)
	for _, want := range []string{"server = function", "sleep = function", "null = null", `version = "`} {
		if !strings.Contains(got, want) {
			t.Errorf("module print lacks %q:\n%s", want, got)
		}
	}
	errObj := s.L.NewTable()
	errObj.RawSetString("where", lua.LString("pb.lua:3"))
	errObj.RawSetString("server", lua.LString("db2"))
	errObj.RawSetString("op", lua.LString("query"))
	errObj.RawSetString("message", lua.LString("boom"))
	s.L.SetMetatable(errObj, s.L.GetTypeMetatable(errorTypeName))
	if got := s.Pretty(errObj); got != "pb.lua:3: db2: query: boom" {
		t.Errorf("error object: %s", got)
	}
	// A broken __tostring is reported, not raised.
	got = prettyOf(t, s, `setmetatable({}, { __tostring = function() error("bad") end })`)
	if !strings.Contains(got, "__tostring failed") {
		t.Errorf("broken __tostring: %s", got)
	}
}
