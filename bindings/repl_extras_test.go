package bindings

import (
	lua "github.com/yuin/gopher-lua"
	"slices"
	"strings"
	"testing"
)

func TestREPLComplete(t *testing.T) {
	s, _ := newTestState(t)
	s.L.SetGlobal("rep", s.L.GetGlobal("replicant"))
	if err := s.RunString(`pos = replicant.position("b.000001:4"); g = replicant.gtid("0-1-5")`, "t.lua"); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"rep.se":         {"rep.server(", "rep.servers("},
		"x = rep.log.w":  {"x = rep.log.warn("},
		"g:su":           {"g:subtract("},
		"rep.roles.ma":   {"rep.roles.master("},
		"print(rep.vers": {"print(rep.version"},
		"rep.nosuch.x":   nil,
	}
	for line, want := range cases {
		if got := s.Complete(line); !slices.Equal(got, want) {
			t.Errorf("Complete(%q) = %q, want %q", line, got, want)
		}
	}
	if got := s.Complete("g:"); !slices.Contains(got, "g:union(") || slices.Contains(got, "g:__index") {
		t.Errorf("Complete(g:) = %q", got)
	}
	if got := s.Complete("pri"); !slices.Contains(got, "print(") {
		t.Errorf("globals: %q", got)
	}
}

func TestREPLCommandsAndLocalNote(t *testing.T) {
	out, errOut, _, err := replRun(t, REPLOptions{}, `\help`, `local x = 5`, `x`, `\quit`, `print("not reached")`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `\quit, \q, exit, quit`) || strings.Contains(out, "not reached") {
		t.Errorf("stdout: %q", out)
	}
	if !strings.Contains(errOut, "note: local x lasts for this line only; write x = ... to keep it") {
		t.Errorf("stderr: %q", errOut)
	}
	for _, word := range []string{"exit", "quit", `\q`} {
		out, _, _, err := replRun(t, REPLOptions{}, word, `print("after")`)
		if err != nil || strings.Contains(out, "after") {
			t.Errorf("%s did not leave: %q %v", word, out, err)
		}
	}
}

func TestREPLResultTable(t *testing.T) {
	s, _ := newTestState(t)
	if err := s.RunString(`rows = { {id = 1, note = "a"}, {id = 22, note = replicant.null} }; cols = {"id", "note"}
wide = { {id = 1, note = string.rep("x", 90)} }`, "t.lua"); err != nil {
		t.Fatal(err)
	}
	g := s.L.GetGlobal
	text, ok := s.resultTable([]lua.LValue{g("rows"), g("cols")}, 80)
	want := "+----+------+\n| id | note |\n+----+------+\n| 1  | a    |\n| 22 | NULL |\n+----+------+\n2 rows in set\n"
	if !ok || text != want {
		t.Errorf("table:\n%s\nwant:\n%s", text, want)
	}
	text, ok = s.resultTable([]lua.LValue{g("wide"), g("cols")}, 80)
	if !ok || !strings.Contains(text, "*************************** 1. row ***************************\n  id: 1\nnote: xxx") {
		t.Errorf("vertical:\n%s", text)
	}
	if _, ok := s.resultTable([]lua.LValue{g("cols"), g("rows")}, 80); ok {
		t.Error("a list of strings and a list of rows is not a result set")
	}
}

// \G at the end of a line prints the result set vertically, as in mysql.
func TestREPLVerticalSuffix(t *testing.T) {
	out, errOut, in, err := replRun(t, REPLOptions{}, `rows, cols = { {id = 1} }, {"id"}`, `rows, cols\G`, `rows, cols`)
	if err != nil || errOut != "" {
		t.Fatalf("%v %q", err, errOut)
	}
	want := "*************************** 1. row ***************************\nid: 1\n1 row in set\n" +
		"+----+\n| id |\n+----+\n| 1  |\n+----+\n1 row in set\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if in.history[1] != `rows, cols` {
		t.Errorf("history: %q", in.history)
	}
}
