package bindings

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/stdlib"
)

// optParserModule is the Go half of replicant.cli: stdlib/lib/cli.lua's
// parse and check call it, so that the command line and table calls go
// through the one parser of cliopts.go.
const optParserModule = "replicant.optparse"

func (s *State) preloadOptionParser() {
	s.L.PreloadModule(optParserModule, func(L *lua.LState) int {
		L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
			"args":  s.optparseArgs,
			"check": s.optparseCheck,
		}))
		return 1
	})
}

// optparse.args(decl, {"--to", "db2"}) → the options table, from a
// command line.
func (s *State) optparseArgs(L *lua.LState) int {
	p := s.checkDecl(L)
	argv := L.CheckTable(2)
	var args []string
	for i := 1; i <= argv.Len(); i++ {
		args = append(args, L.ToStringMeta(argv.RawGetInt(i)).String())
	}
	values, err := p.ParseArgs(args, nil)
	if err == nil {
		err = p.Complete(values, s.cfg.Deployment, true)
	}
	if err != nil {
		s.raiseUsage(L, err)
	}
	L.Push(s.optionsTable(L, values))
	return 1
}

// optparse.check(decl, opts) → the options table, from a table call:
// strict types (back = 1 is not a boolean), durations read as seconds,
// defaults filled in.
func (s *State) optparseCheck(L *lua.LState) int {
	p := s.checkDecl(L)
	var t *lua.LTable
	switch v := L.Get(2).(type) {
	case *lua.LNilType:
		t = L.NewTable()
	case *lua.LTable:
		t = v
	default:
		s.raiseUsage(L, p.usage("options must be a table, got %s", v.Type()))
	}
	values, err := p.decodeTable(t)
	if err == nil {
		err = p.Complete(values, s.cfg.Deployment, false)
	}
	if err != nil {
		s.raiseUsage(L, err)
	}
	L.Push(s.optionsTable(L, values))
	return 1
}

// raiseUsage raises an error object of kind usage that blames the
// playbook line that called the procedure, not the stdlib's own lines.
func (s *State) raiseUsage(L *lua.LState, err error) {
	t := L.NewTable()
	t.RawSetString("kind", lua.LString(kindUsage))
	t.RawSetString("message", lua.LString(err.Error()))
	t.RawSetString("where", lua.LString(callerOutsideStdlib(L)))
	L.SetMetatable(t, L.GetTypeMetatable(errorTypeName))
	L.Error(t, 0)
}

// callerOutsideStdlib is the nearest Lua frame that is not a bundled
// chunk: the playbook's call. "" when the stdlib was run from the command
// line (there is no playbook line to blame).
func callerOutsideStdlib(L *lua.LState) string {
	for level := 1; level < 200; level++ {
		w := L.Where(level)
		if w == "" {
			break
		}
		if strings.HasPrefix(w, "[G]") || strings.HasPrefix(w, "stdlib/") {
			continue
		}
		return strings.TrimSuffix(w, ":")
	}
	return ""
}

// decodeTable reads a table call's options, strictly.
func (p ProcSpec) decodeTable(t *lua.LTable) (map[string]optValue, error) {
	out := map[string]optValue{}
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		key, isString := k.(lua.LString)
		o, known := p.Option(string(key))
		if !isString || !known || strings.Contains(string(key), "-") {
			err = p.unknown(k.String(), false)
			return
		}
		var val optValue
		if val, err = tableValue(o.Kind, v); err == nil {
			err = o.checkChoice(val)
		}
		if err != nil {
			err = p.usage("option %s: %v", o.Name, err)
			return
		}
		out[o.Name] = val
	})
	return out, err
}

func tableValue(kind string, v lua.LValue) (optValue, error) {
	wrong := fmt.Errorf("want %s, got %s %s", kindWant[kind], v.Type(), v)
	switch x := v.(type) {
	case lua.LString:
		if kind == optBooleanKind || kind == optCountKind || kind == optNumberKind || kind == optFunctionKind {
			return nil, wrong
		}
		return parseOptText(kind, string(x))
	case lua.LNumber:
		switch kind {
		case optCountKind, optNumberKind:
			return checkNumber(kind, float64(x))
		case optDurationKind:
			d, err := toDuration(x)
			return d.Seconds(), err
		}
	case lua.LBool:
		if kind == optBooleanKind {
			return bool(x), nil
		}
	case *lua.LTable:
		if kind == optListKind || kind == optServersKind {
			var items []string
			for i := 1; i <= x.Len(); i++ {
				s, ok := x.RawGetInt(i).(lua.LString)
				if !ok {
					return nil, fmt.Errorf("want a list of strings, item %d is %s", i, x.RawGetInt(i).Type())
				}
				items = append(items, string(s))
			}
			return items, nil
		}
	case *lua.LFunction:
		if kind == optFunctionKind {
			return x, nil
		}
	}
	return nil, wrong
}

func (s *State) optionsTable(L *lua.LState, values map[string]optValue) *lua.LTable {
	t := L.NewTable()
	for k, v := range values {
		switch x := v.(type) {
		case string:
			t.RawSetString(k, lua.LString(x))
		case float64:
			t.RawSetString(k, lua.LNumber(x))
		case bool:
			t.RawSetString(k, lua.LBool(x))
		case []string:
			list := L.CreateTable(len(x), 0)
			for _, item := range x {
				list.Append(lua.LString(item))
			}
			t.RawSetString(k, list)
		case lua.LValue:
			t.RawSetString(k, x)
		}
	}
	return t
}

// checkDecl reads argument 1, a procedure's declaration:
// { name = "switchover", options = { {"to", "server", "doc", required = true}, ... },
// needs_deployment = true | { unless = "from" } }.
func (s *State) checkDecl(L *lua.LState) ProcSpec {
	p, err := decodeDecl(L.CheckTable(1))
	if err != nil {
		L.RaiseError("%v", err)
	}
	return p
}

var declKeys = optSpec{"name": optString, "options": optTable, "needs_deployment": optAny}

func decodeDecl(t *lua.LTable) (ProcSpec, error) {
	if err := validateOptions(t, declKeys); err != nil {
		return ProcSpec{}, fmt.Errorf("procedure declaration: %w", err)
	}
	p := ProcSpec{Name: lua.LVAsString(t.RawGetString("name"))}
	switch nd := t.RawGetString("needs_deployment").(type) {
	case lua.LBool:
		p.NeedsDeployment = bool(nd)
	case *lua.LTable:
		p.NeedsDeployment, p.Unless = true, lua.LVAsString(nd.RawGetString("unless"))
	case *lua.LNilType:
	default:
		return p, fmt.Errorf("%s: needs_deployment must be a boolean or {unless = NAME}", p.Name)
	}
	opts, _ := t.RawGetString("options").(*lua.LTable)
	if opts == nil {
		return p, nil
	}
	if opts.Len() == 0 {
		return p, decodeKindMap(&p, opts)
	}
	for i := 1; i <= opts.Len(); i++ {
		e, ok := opts.RawGetInt(i).(*lua.LTable)
		if !ok {
			return p, fmt.Errorf("%s: options[%d] must be a table {name, kind, doc, default=, required=}", p.Name, i)
		}
		o := ProcOption{Name: lua.LVAsString(e.RawGetInt(1)), Kind: lua.LVAsString(e.RawGetInt(2)),
			Doc: lua.LVAsString(e.RawGetInt(3)), Required: lua.LVAsBool(e.RawGetString("required"))}
		if c, ok := e.RawGetString("choices").(*lua.LTable); ok {
			for j := 1; j <= c.Len(); j++ {
				o.Choices = append(o.Choices, lua.LVAsString(c.RawGetInt(j)))
			}
		}
		if d := e.RawGetString("default"); d != lua.LNil {
			o.Default = lua.LVAsString(d)
		}
		if err := checkDeclared(p, o); err != nil {
			return p, err
		}
		p.Options = append(p.Options, o)
	}
	return p, nil
}

// decodeKindMap reads the older spec, { key = "kind" }, which playbooks
// of their own may still pass to replicant.cli.
func decodeKindMap(p *ProcSpec, t *lua.LTable) error {
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err == nil {
			o := ProcOption{Name: k.String(), Kind: v.String()}
			if err = checkDeclared(*p, o); err == nil {
				p.Options = append(p.Options, o)
			}
		}
	})
	sort.Slice(p.Options, func(i, j int) bool { return p.Options[i].Name < p.Options[j].Name })
	return err
}

func checkDeclared(p ProcSpec, o ProcOption) error {
	if _, ok := kindWant[o.Kind]; !ok || o.Name == "" {
		return fmt.Errorf("%s: option %q: unknown kind %q", p.Name, o.Name, o.Kind)
	}
	if o.Default != "" {
		if _, err := parseOptText(o.Kind, o.Default); err != nil {
			return fmt.Errorf("%s: option %s: default: %w", p.Name, o.Name, err)
		}
	}
	return nil
}

// procedureSpec loads bundled procedure name as a module (require, which
// defines its functions and runs nothing) and reads its declaration.
func (s *State) procedureSpec(name string) (ProcSpec, error) {
	L := s.L
	if err := L.CallByParam(lua.P{Fn: L.GetGlobal("require"), NRet: 1, Protect: true},
		lua.LString("replicant."+name)); err != nil {
		return ProcSpec{}, fmt.Errorf("loading procedure %s: %w", name, err)
	}
	mod, ok := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	if !ok {
		return ProcSpec{}, fmt.Errorf("procedure %s: its module is not a table", name)
	}
	decl := L.NewTable()
	decl.RawSetString("name", lua.LString(name))
	decl.RawSetString("options", mod.RawGetString("options"))
	decl.RawSetString("needs_deployment", mod.RawGetString("needs_deployment"))
	return decodeDecl(decl)
}

// RunProcedure runs bundled procedure name with its command line, which
// is checked first: a mistake in it is a *UsageError and nothing runs.
// globalFlag reports replicant-lua's own flags (see ProcSpec.ParseArgs).
func (s *State) RunProcedure(name string, args []string, globalFlag func(string) bool) error {
	p, err := s.procedureSpec(name)
	if err != nil {
		return err
	}
	values, err := p.ParseArgs(args, globalFlag)
	if err == nil {
		err = p.Complete(values, s.cfg.Deployment, true)
	}
	if err != nil {
		return err
	}
	return s.RunStdlib(name, args)
}

// ProcedureSpecs reads every bundled procedure's declaration, for doc,
// --help, completion and the annotations. Nothing connects anywhere.
func ProcedureSpecs() ([]ProcSpec, error) {
	s := New(context.Background(), Config{Stdout: io.Discard, Stderr: io.Discard})
	defer s.Close()
	var out []ProcSpec
	for _, name := range stdlib.Names() {
		p, err := s.procedureSpec(name)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// DeploymentServerNames lists the server names of a deployment file
// without connecting nor asking for secrets (env, file and prompt give
// placeholders), for shell completion; nil when the file cannot be read.
func DeploymentServerNames(path string) []string {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	L := lua.NewState()
	defer L.Close()
	placeholder := L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(""))
		return 1
	})
	for _, g := range []string{"env", "file", "prompt"} {
		L.SetGlobal(g, placeholder)
	}
	if err := L.DoFile(path); err != nil {
		return nil
	}
	t, _ := L.Get(-1).(*lua.LTable)
	if t == nil {
		return nil
	}
	servers, _ := t.RawGetString("servers").(*lua.LTable)
	if servers == nil {
		return nil
	}
	var names []string
	servers.ForEach(func(k, _ lua.LValue) {
		if name, ok := k.(lua.LString); ok {
			names = append(names, string(name))
		}
	})
	sort.Strings(names)
	return names
}
