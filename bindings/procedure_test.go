package bindings

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// rep.procedure from Lua: an inner procedure that fails undoes its own
// steps only (the outer one, caught by pcall, goes on); its point of no
// return is its own; when the run then fails, the outer steps are undone
// and the report nests.
func TestRepProcedureNests(t *testing.T) {
	s, _ := newTestState(t)
	err := s.RunString(`
local rep = require "replicant"
log = {}
local function step(name)
  rep.step(name, function() table.insert(log, name) end, function() table.insert(log, "undo " .. name) end)
end
step("outer")
rep.procedure("first", function()
  step("a")
  rep.point_of_no_return("finish first by hand")
  step("b")
end)
local ok = pcall(rep.procedure, "second", function() step("c"); error("second fails", 0) end)
assert(not ok)
table.insert(log, "after second")
error("the playbook fails", 0)
`, "play.lua")
	if err == nil {
		t.Fatal("no error")
	}
	tbl := s.L.GetGlobal("log")
	var all []string
	for i := 1; i <= s.L.ObjLen(tbl); i++ {
		all = append(all, s.L.GetTable(tbl, lua.LNumber(i)).String())
	}
	want := "outer,a,b,c,undo c,after second,undo outer"
	if strings.Join(all, ",") != want {
		t.Fatalf("ran %v, want %s", all, want)
	}
	for _, w := range []string{"1. outer: done, then undone", "2. procedure first: done", "3. procedure second: FAILED: second fails",
		"1. c: done, then undone"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("report lacks %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "finish first by hand") {
		t.Errorf("report gives the finished procedure's recovery:\n%v", err)
	}
}
