package bindings

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestToJSON(t *testing.T) {
	for _, tc := range []struct{ lua, want string }{
		{`nil`, `null`},
		{`rep.null`, `null`},
		{`true`, `true`},
		{`42`, `42`},
		{`-7`, `-7`},
		{`1.5`, `1.5`},
		{`2^53`, `9007199254740992`},
		{`1/0`, `"inf"`},
		{`-1/0`, `"-inf"`},
		{`"a\"b"`, `"a\"b"`},
		{`{}`, `[]`},
		{`{1, "two", {3}}`, `[1,"two",[3]]`},
		{`{1, nil, 3}`, `{"1":1,"3":3}`}, // a hole: not a list
		{`{a = 1, b = {c = rep.null}}`, `{"a":1,"b":{"c":null}}`},
		{`{f = function() end, x = 1}`, `{"x":1}`},
		{`{print}`, `[null]`},
		{`rep.gtid("0-1-5,1-2-7", "mariadb")`, `"0-1-5,1-2-7"`},
		{`rep.position("mysql-bin.000003", 4)`, `"mysql-bin.000003:4"`},
		{`rep.server("127.0.0.1:1", {user = "u"})`, `"127.0.0.1:1"`},
		{`(function() local t = {x = 1}; t.self = t; return t end)()`, `{"self":null,"x":1}`},
	} {
		s, out := newTestState(t)
		if err := s.RunString(`local rep = require "replicant"; print(rep.to_json(`+tc.lua+`))`, "test.lua"); err != nil {
			t.Fatalf("%s: %v", tc.lua, err)
		}
		if got := strings.TrimSpace(out.String()); got != tc.want {
			t.Errorf("to_json(%s) = %s; want %s", tc.lua, got, tc.want)
		}
	}
}

// decodeOutcome runs code with JSON on and returns what WriteOutcome wrote,
// decoded, and what print wrote.
func decodeOutcome(t *testing.T, code string, exitCode int) (Outcome, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	s := New(context.Background(), Config{Stdout: &stdout, Stderr: &stderr, JSON: true})
	defer s.Close()
	err := s.RunString(`local rep = require "replicant"; `+code, "test.lua")
	if err := s.WriteOutcome(&stdout, err, exitCode); err != nil {
		t.Fatal(err)
	}
	var o Outcome
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout.String())
	}
	if dec.More() {
		t.Fatalf("stdout holds more than the JSON document")
	}
	return o, stderr.String()
}

func TestOutcomeOfASuccess(t *testing.T) {
	o, printed := decodeOutcome(t, `print("hello"); return {n = 2}, "x"`, 0)
	if !o.OK || o.ExitCode != 0 || o.Error != nil || printed != "hello\n" {
		t.Errorf("outcome %+v, printed %q; want ok and the print on stderr", o, printed)
	}
	res, _ := json.Marshal(o.Result)
	if string(res) != `[{"n":2},"x"]` {
		t.Errorf("result %s; want both returned values", res)
	}
}

func TestOutcomeOfAFailedProcedure(t *testing.T) {
	o, _ := decodeOutcome(t, `
rep.step("first", function() end, function() end)
rep.step("second", function() rep.raise{kind = "custom", message = "no luck"} end)`, 1)
	if o.OK || o.ExitCode != 1 || o.Error == nil || !strings.Contains(o.Error.Message, "no luck") ||
		o.Error.Fields["kind"] != "custom" || o.Error.Fields["where"] != "test.lua:3" {
		t.Fatalf("outcome %+v; want the error object's fields", o)
	}
	if len(o.Steps) != 2 || o.Steps[0].State != "undone" || o.Steps[1].State != "failed" ||
		!strings.Contains(o.Steps[1].Error, "no luck") || o.PastPointOfNoReturn {
		t.Errorf("steps %+v; want first undone, second failed", o.Steps)
	}
}

func TestOutcomePastThePointOfNoReturn(t *testing.T) {
	o, _ := decodeOutcome(t, `
rep.step("promote", function() end)
rep.point_of_no_return("run rejoin on db1")
error("lost db3", 0)`, 1)
	if !o.PastPointOfNoReturn || o.Recovery != "run rejoin on db1" || len(o.Steps) != 1 || o.Steps[0].State != "done" {
		t.Errorf("outcome %+v; want the recovery and the step kept done", o)
	}
}
