package bindings

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/stdlib"
)

var testSpec = ProcSpec{Name: "proc", NeedsDeployment: true, Options: []ProcOption{
	{Name: "to", Kind: optServerKind, Doc: "the target", Required: true},
	{Name: "skip", Kind: optServersKind, Doc: "left alone"},
	{Name: "tags", Kind: optListKind, Doc: "labels"},
	{Name: "max_lag", Kind: optDurationKind, Doc: "lag", Default: "10s"},
	{Name: "rounds", Kind: optCountKind, Doc: "how many", Default: "3"},
	{Name: "ratio", Kind: optNumberKind, Doc: "a ratio"},
	{Name: "back", Kind: optBooleanKind, Doc: "switch back"},
	{Name: "label", Kind: optStringKind, Doc: "a label"},
	{Name: "on_step", Kind: optFunctionKind, Doc: "a hook"},
	{Name: "mode", Kind: optStringKind, Doc: "how", Choices: []string{"fast", "safe"}},
}}

var testDeployment = &deploy.Deployment{Servers: map[string]deploy.Server{"db1": {}, "db2": {}, "db3": {}}}

func globalForTest(name string) bool { return name == "dry-run" || name == "yes" }

func TestParseArgsKinds(t *testing.T) {
	got, err := testSpec.ParseArgs([]string{"--to", "db2", "--skip=db1,db3", "--tags", "a,b", "--max-lag", "500ms",
		"--rounds", "4", "--ratio", "0.5", "--back", "--label", "x y"}, globalForTest)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]optValue{"to": "db2", "skip": []string{"db1", "db3"}, "tags": []string{"a", "b"},
		"max_lag": 0.5, "rounds": 4.0, "ratio": 0.5, "back": true, "label": "x y"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	for _, tt := range []struct {
		arg  []string
		want optValue
	}{
		{[]string{"--max-lag", "2m"}, 120.0}, {[]string{"--max-lag", "30"}, 30.0}, {[]string{"--max-lag=1.5"}, 1.5},
		{[]string{"--back=false"}, false}, {[]string{"--mode", "safe"}, "safe"}, {[]string{"--back=true"}, true}, {[]string{"--max_lag", "1s"}, 1.0},
	} {
		got, err := testSpec.ParseArgs(tt.arg, nil)
		if err != nil {
			t.Errorf("%v: %v", tt.arg, err)
			continue
		}
		for _, v := range got {
			if !reflect.DeepEqual(v, tt.want) {
				t.Errorf("%v: got %v, want %v", tt.arg, v, tt.want)
			}
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--tox", "db2"}, "proc: unknown option --tox (did you mean --to?) (valid: --to, --skip, --tags, --max-lag, --rounds, --ratio, --back, --label, --mode)"},
		{[]string{"--on-step", "x"}, "unknown option --on-step"},
		{[]string{"--dry-run"}, `--dry-run is a flag of replicant-lua, not an option of proc: put it before "--"`},
		{[]string{"--to"}, "proc: --to needs a value: a server name"},
		{[]string{"--to", "--back"}, "--to needs a value"},
		{[]string{"--max-lag", "soon"}, `proc: --max-lag: "soon" is not a duration`},
		{[]string{"--max-lag", "-1s"}, "negative duration"},
		{[]string{"--rounds", "1.5"}, "1.5 is not a whole number"},
		{[]string{"--rounds", "many"}, `"many" is not a whole number`},
		{[]string{"--ratio", "NaN"}, "is not a number"},
		{[]string{"--back=maybe"}, `--back: "maybe" is not true or false`},
		{[]string{"db2"}, `proc: unexpected argument "db2"`},
		{[]string{"-t", "db2"}, `unexpected argument "-t"`},
		{[]string{"--to", "db1", "--to", "db2"}, "--to given twice"},
		{[]string{"--mode", "slow"}, `proc: --mode: "slow" is not one of fast, safe`},
	} {
		_, err := testSpec.ParseArgs(tt.args, globalForTest)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(ue.Message, tt.want) {
			t.Errorf("%v: got %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
}

func TestCompleteDefaultsAndChecks(t *testing.T) {
	v := map[string]optValue{"to": "db2"}
	if err := testSpec.Complete(v, testDeployment, true); err != nil {
		t.Fatal(err)
	}
	if v["max_lag"] != 10.0 || v["rounds"] != 3.0 || v["back"] != nil {
		t.Errorf("defaults: %v", v)
	}
	if err := testSpec.Complete(map[string]optValue{"to": "10.0.0.9:3306"}, testDeployment, true); err != nil {
		t.Errorf("an address is accepted: %v", err)
	}
	for _, tt := range []struct {
		values  map[string]optValue
		d       *deploy.Deployment
		cmdline bool
		want    string
	}{
		{map[string]optValue{}, testDeployment, true, "proc: --to is required (the target)"},
		{map[string]optValue{}, testDeployment, false, "proc: option to is required (the target)"},
		{map[string]optValue{"to": "db9"}, testDeployment, true, `proc: --to db9: no server named "db9" in the deployment (servers: db1, db2, db3`},
		{map[string]optValue{"to": "db2", "skip": []string{"db1", "db7"}}, testDeployment, false, `proc: option skip: no server named "db7"`},
		{map[string]optValue{"to": "db2"}, nil, true, "proc: needs a deployment: give one with -d FILE"},
	} {
		err := testSpec.Complete(tt.values, tt.d, tt.cmdline)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(ue.Message, tt.want) {
			t.Errorf("%v: got %v, want %q", tt.values, err, tt.want)
		}
	}
	unless := ProcSpec{Name: "status", NeedsDeployment: true, Unless: "from",
		Options: []ProcOption{{Name: "from", Kind: optServerKind}}}
	if err := unless.Complete(map[string]optValue{"from": "h:1"}, nil, true); err != nil {
		t.Errorf("--from stands in for the deployment: %v", err)
	}
	if err := unless.Complete(map[string]optValue{}, nil, true); err == nil || !strings.Contains(err.Error(), "or give --from") {
		t.Errorf("no deployment, no --from: %v", err)
	}
}

// Table calls go through replicant.cli as the procedures call it: strict
// types, seconds for durations, defaults, errors that blame the caller.
func TestTableCalls(t *testing.T) {
	s := New(context.Background(), Config{Deployment: testDeployment})
	t.Cleanup(s.Close)
	err := s.RunString(`
local cli = require "replicant.cli"
local M = { name = "proc", needs_deployment = true, options = {
  { "to", "server", "the target", required = true },
  { "back", "boolean", "switch back" },
  { "max_lag", "duration", "lag", default = "10s" },
  { "skip", "servers", "left alone" },
  { "rounds", "count", "how many" },
  { "on_step", "function", "a hook" },
  { "mode", "string", "how", choices = { "fast", "safe" } },
} }
local o = cli.check({ to = "db2", max_lag = "2m", skip = { "db3" }, back = false, on_step = print }, M)
assert(o.to == "db2" and o.max_lag == 120 and o.skip[1] == "db3" and o.back == false and o.on_step == print)
o = cli.check({ to = "db1", max_lag = 5, skip = "db1,db3" }, M)
assert(o.max_lag == 5 and o.skip[2] == "db3")
assert(cli.check({ to = "db1" }, M).max_lag == 10, "default")
local function fails(opts, want)
  local ok, err = pcall(cli.check, opts, M) local line = debug.getinfo(1, "l").currentline
  assert(not ok, "no error for " .. want)
  assert(err.kind == "usage", tostring(err))
  assert(err.message:find(want, 1, true), err.message .. " lacks " .. want)
  assert(err.where == "test.lua:" .. line, err.where) -- the caller's line, not cli.lua's
end
fails({ to = "db2", back = 1 }, "proc: option back: want a boolean (true or false), got number 1")
fails({ to = "db2", tox = 1 }, "proc: unknown option tox (did you mean to?) (valid: to, back, max_lag, skip, rounds, on_step, mode)")
fails({ to = "db2", mode = "slow" }, 'option mode: "slow" is not one of fast, safe')
assert(cli.check({ to = "db2", mode = "fast" }, M).mode == "fast")
fails({ to = "db2", ["max-lag"] = 1 }, "unknown option max-lag")
fails({ to = "db2", on_step = "x" }, "option on_step: want a function")
fails({ to = "db2", rounds = 1.5 }, "1.5 is not a whole number")
fails({ to = "db2", rounds = "3" }, "option rounds: want a whole number, got string 3")
fails({ to = "db2", max_lag = "soon" }, "option max_lag")
fails({ to = "db2", skip = { 1 } }, "want a list of strings")
fails({}, "option to is required (the target)")
fails({ to = "db9" }, 'option to: no server named "db9"')
local ok, err = pcall(cli.check, 7, M)
assert(not ok and err.message:find("options must be a table"), tostring(err))
-- the older { key = "kind" } spec still works
assert(cli.check({ n = 2 }, { n = "number" }, "old").n == 2)
local o2 = cli.parse({ "--to", "db2", "--back", "--max-lag", "3s" }, M)
assert(o2.back == true and o2.max_lag == 3)
`, "test.lua")
	if err != nil {
		t.Fatal(err)
	}
}

// Every bundled procedure declares its options in the one form, and
// every declared option has a one-line description.
func TestBundledDeclarations(t *testing.T) {
	specs, err := ProcedureSpecs()
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != len(stdlib.Names()) {
		t.Fatalf("%d specs for %d procedures", len(specs), len(stdlib.Names()))
	}
	for _, p := range specs {
		if !p.NeedsDeployment {
			t.Errorf("%s: every bundled procedure works on a deployment", p.Name)
		}
		for _, o := range p.Options {
			if o.Doc == "" || strings.Contains(o.Doc, "\n") {
				t.Errorf("%s: option %s: want a one-line description, got %q", p.Name, o.Name, o.Doc)
			}
		}
	}
}

func TestBadDeclaration(t *testing.T) {
	s, _ := newTestState(t)
	msg := ""
	if err := s.RunString(`require("replicant.cli").check({}, { name = "p", options = { { "x", "strnig", "doc" } } })`, "t.lua"); err != nil {
		msg = err.Error()
	}
	if !strings.Contains(msg, `p: option "x": unknown kind "strnig"`) {
		t.Errorf("got %q", msg)
	}
}
