// Package bindings exposes the runtime packages to Lua: the replicant
// module, server objects, error objects, deployment files and the REPL.
// It is the only package that imports gopher-lua.
package bindings

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/runtime/procedure"
	"github.com/replicant-lua/replicant-lua/runtime/server"
	"github.com/replicant-lua/replicant-lua/stdlib"
)

// Config is what a run needs from its caller.
type Config struct {
	Deployment *deploy.Deployment // nil when none was given
	Stdout     io.Writer
	Stderr     io.Writer
	Verbose    bool
	DryRun     bool      // record changing statements instead of running them
	Audit      io.Writer // JSON lines of every statement and step; nil for none
	// Command is the command line, program name first, for the audit
	// log's header (with secrets redacted there).
	Command []string
	Yes     bool // rep.confirm answers yes
	// ForceLock grants rep.lock with fewer than a majority of the
	// servers: the operator knows the others are down.
	ForceLock bool
	// Locker takes the procedure lock (rep.lock); nil: GET_LOCK on the
	// servers themselves.
	Locker procedure.Locker
	// JSON keeps stdout for the one document WriteOutcome prints: print
	// and topo:print write to Stderr instead.
	JSON bool
	// Progress is where waits that last over 2 s say what they wait for
	// and how far they are, every few seconds: stderr when it is a
	// terminal; nil (the default) for none, so that logs stay quiet.
	Progress io.Writer
	// Confirm asks the operator a yes/no question; nil when there is no
	// terminal to ask on.
	Confirm func(question string) (bool, error)
	// BeforeStep is called before each step of every procedure of the run
	// (see procedure.Procedure.BeforeStep); nil for none.
	BeforeStep func(ctx context.Context, procedure, step string)
	// Test is the kit of a test file's run (`replicant-lua test`): with
	// it, require "replicant.testkit" works. nil elsewhere.
	Test *TestKit
}

// State is one Lua interpreter with the replicant module loaded, for one
// run. It is not safe for concurrent use, like the LState under it.
//
// It is made of three parts: the interpreter itself (the VM, the
// coroutines of rep.parallel), the Registry of servers and machines the
// scripts reach, which can outlive the run, and the runState: journal,
// locks, audit, plan and deadlines, which end with it.
type State struct {
	L      *lua.LState
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	null   *lua.LUserData

	reg       *Registry // servers and machines, which can outlive the run
	ownsReg   bool      // Close closes the registry too
	*runState           // the run's journal, locks, audit and plan

	parallel map[*lua.LState]bool // coroutines of rep.parallel, whose calls run in goroutines
	// protected counts the protected calls each thread is inside: there a
	// rep.parallel coroutine's calls run in place.
	protected    map[*lua.LState]int
	threadCancel map[*lua.LState]context.CancelFunc
}

// New builds a state whose every blocking call is bounded by ctx, with a
// registry of its own that Close closes.
func New(ctx context.Context, cfg Config) *State {
	s := NewWithRegistry(ctx, cfg, NewRegistry())
	s.ownsReg = true
	return s
}

// NewWithRegistry builds a state for one run on servers that outlive it:
// the server objects already in reg keep their sessions, and Close leaves
// them open for the next run. reg serves this state alone until Close.
func NewWithRegistry(ctx context.Context, cfg Config, reg *Registry) *State {
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.JSON {
		cfg.Stdout = cfg.Stderr
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &State{
		L:            lua.NewState(lua.Options{IncludeGoStackTrace: false}),
		cfg:          cfg,
		ctx:          ctx,
		cancel:       cancel,
		reg:          reg,
		parallel:     map[*lua.LState]bool{},
		protected:    map[*lua.LState]int{},
		threadCancel: map[*lua.LState]context.CancelFunc{},
	}
	s.runState = newRunState(cfg, s.outcomeUnknown)
	reg.attach(s.observer, s.progress, cfg.DryRun, s.deadlines)
	s.L.SetContext(ctx)
	registerErrorType(s.L)
	s.registerServerType()
	s.registerValueTypes()
	s.registerConfigType()
	s.null = s.L.NewUserData()
	nullMeta := s.L.NewTable()
	nullMeta.RawSetString("__tostring", s.L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("null"))
		return 1
	}))
	s.L.SetMetatable(s.null, nullMeta)
	s.setupGlobals()
	return s
}

// Close releases the procedure locks and ends the run: the binlog
// iterators it left open are closed, and with a registry of its own every
// server is disconnected; a shared registry keeps its sessions, detached
// from this run's audit and plan.
func (s *State) Close() {
	s.reg.closeReaders()
	s.release()
	if s.ownsReg {
		s.reg.Close()
	} else {
		s.reg.attach(nil, nil, false, server.Deadlines{})
	}
	s.cancel()
	s.L.Close()
}

func (s *State) setupGlobals() {
	L := s.L
	L.SetGlobal("print", L.NewFunction(s.print))
	mod := s.newModule()
	L.PreloadModule("replicant", func(L *lua.LState) int {
		L.Push(mod)
		return 1
	})
	L.SetGlobal("replicant", mod)
	L.SetGlobal("rep", mod) // as in the REPL and the docs' examples; playbooks still require it
	s.installStdlibLoader()
	s.preloadOptionParser()
	s.preloadTestKit()
	// package.path is explicit: the current directory only. RunFile adds
	// the script's own directory in front.
	pkg := L.GetGlobal("package").(*lua.LTable)
	pkg.RawSetString("path", lua.LString("./?.lua"))
	os := L.GetGlobal("os").(*lua.LTable)
	os.RawSetString("exit", L.NewFunction(s.osExit))
	s.installProtectedCalls()
}

// print writes to the configured stdout, so tests and the REPL capture it.
// A table prints as its contents (Pretty), not as "table: 0x…": print(row)
// is how an operator looks at a row.
func (s *State) print(L *lua.LState) int {
	n := L.GetTop()
	parts := make([]string, n)
	for i := 1; i <= n; i++ {
		v := L.Get(i)
		if t, ok := v.(*lua.LTable); ok && L.GetMetaField(t, "__tostring") == lua.LNil {
			parts[i-1] = s.Pretty(t)
			continue
		}
		parts[i-1] = L.ToStringMeta(v).String()
	}
	fmt.Fprintln(s.cfg.Stdout, strings.Join(parts, "\t"))
	return 0
}

// osExit records the code and cancels the run's context, which stops the
// VM at its next instruction even inside a pcall. Run then reports an
// ExitError with the code.
func (s *State) osExit(L *lua.LState) int {
	code := 0
	switch v := L.Get(1).(type) {
	case lua.LNumber:
		code = int(v)
	case lua.LBool:
		if !v {
			code = 1
		}
	}
	s.exit = &code
	s.cancel()
	L.RaiseError("os.exit(%d)", code)
	return 0
}

// installStdlibLoader lets `require "replicant.NAME"` load stdlib/NAME.lua
// from the binary, under the chunk name "stdlib/NAME.lua" so that errors
// cite it.
func (s *State) installStdlibLoader() {
	L := s.L
	loaders := L.GetField(L.GetGlobal("package"), "loaders").(*lua.LTable)
	loader := L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		short, ok := strings.CutPrefix(name, "replicant.")
		if !ok {
			L.Push(lua.LString("\n\tno bundled module '" + name + "'"))
			return 1
		}
		src, chunk, ok := stdlib.Module(short)
		if !ok {
			L.Push(lua.LString("\n\tno bundled module '" + name + "'"))
			return 1
		}
		fn, err := L.Load(strings.NewReader(string(src)), chunk)
		if err != nil {
			L.RaiseError("%v", err)
		}
		L.Push(fn)
		return 1
	})
	loaders.Insert(2, loader) // after the preload searcher
}

// ExitError is returned when a script called os.exit.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// SyntaxError is a script that does not compile: an input error.
type SyntaxError struct{ Message string }

func (e *SyntaxError) Error() string { return e.Message }

// RunError is a script that failed while running.
type RunError struct {
	Message    string
	StackTrace string
	// Fields are the error object's fields (op, server, code, ...) when the
	// script raised one, as JSON values; nil for a plain error.
	Fields map[string]any
}

func (e *RunError) Error() string { return e.Message }

// RunFile runs a playbook. args become the global table `arg` (arg[0] is
// the script's path, as in the standalone lua interpreter).
func (s *State) RunFile(path string, args []string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read playbook: %w", err)
	}
	pkg := s.L.GetGlobal("package").(*lua.LTable)
	dir := filepath.Dir(path)
	pkg.RawSetString("path", lua.LString(filepath.Join(dir, "?.lua")+";./?.lua"))
	return s.run(string(src), path, path, args)
}

// RunStdlib runs a bundled procedure by name.
func (s *State) RunStdlib(name string, args []string) error {
	src, chunk, ok := stdlib.Source(name)
	if !ok {
		return fmt.Errorf("no playbook file %q and no bundled procedure of that name (bundled: %s)",
			name, strings.Join(stdlib.Names(), ", "))
	}
	return s.run(string(src), chunk, name, args)
}

// RunString runs a chunk of code, as -e does.
func (s *State) RunString(code, chunkName string) error {
	return s.run(code, chunkName, chunkName, nil)
}

func (s *State) run(src, chunkName, arg0 string, args []string) error {
	fn, err := s.L.Load(strings.NewReader(src), chunkName)
	if err != nil {
		return &SyntaxError{Message: syntaxMessage(err, sourceLines(src))}
	}
	argt := s.L.NewTable()
	argt.RawSetInt(0, lua.LString(arg0))
	for i, a := range args {
		argt.RawSetInt(i+1, lua.LString(a))
	}
	s.L.SetGlobal("arg", argt)
	if s.proc.Name == "" {
		s.proc.Name = arg0 // the top level of a playbook is a procedure too
	}
	base := s.L.GetTop()
	s.L.Push(fn)
	for _, a := range args {
		s.L.Push(lua.LString(a))
	}
	err = s.describe(s.L.PCall(len(args), lua.MultRet, nil))
	if err == nil {
		for i := base + 1; i <= s.L.GetTop(); i++ {
			s.results = append(s.results, s.L.Get(i))
		}
	}
	s.L.SetTop(base)
	return s.finish(err)
}

// finish undoes what a failed procedure left undone, and adds the
// procedure's report to the failure: which steps ran, what was undone, and
// after the point of no return, how to finish the job. A successful run
// (or os.exit(0)) keeps its changes.
func (s *State) finish(err error) error {
	var exit *ExitError
	failed := err != nil && !(errors.As(err, &exit) && exit.Code == 0)
	if !failed || len(s.proc.Steps()) == 0 {
		return err
	}
	var undoErr error
	if s.proc.Pending() > 0 {
		undoErr = s.proc.Rollback(err)
	}
	s.failure = err.Error() // the audit log's footer gives it without the report
	report := "procedure steps:\n" + s.bundledPathsOut(s.proc.Report())
	if undoErr != nil {
		report += "Some undo failed; check those servers by hand.\n"
	}
	var re *RunError
	if errors.As(err, &re) {
		re.Message += "\n" + strings.TrimRight(report, "\n")
		return re
	}
	fmt.Fprint(s.cfg.Stderr, report)
	return err
}

// PrintPlan writes what a dry run recorded; false when not a dry run.
func (s *State) PrintPlan(w io.Writer) bool {
	if s.plan == nil {
		return false
	}
	s.plan.Print(w)
	return true
}

// AuditErr reports a failure to write the audit log.
func (s *State) AuditErr() error {
	if s.auditor == nil {
		return nil
	}
	return s.auditor.Err()
}

// describe turns what PCall returned into one of our error types, with an
// error object formatted the way tostring shows it.
func (s *State) describe(err error) error {
	if err == nil {
		return nil
	}
	if s.exit != nil {
		return &ExitError{Code: *s.exit}
	}
	var apiErr *lua.ApiError
	if !errors.As(err, &apiErr) {
		return &RunError{Message: err.Error()}
	}
	msg := apiErr.Object.String()
	var fields map[string]any
	if t, ok := isErrorObject(s.L, apiErr.Object); ok {
		msg = formatErrorObject(t)
		fields, _ = s.jsonValue(t).(map[string]any)
	}
	// The run's deadline shows as "context deadline exceeded" deep down;
	// say which deadline it was (--timeout, or a signal).
	if cause := context.Cause(s.ctx); cause != nil && cause != s.ctx.Err() && !strings.Contains(msg, cause.Error()) {
		msg += " (" + cause.Error() + ")"
	}
	return &RunError{Message: s.bundledPathsOut(msg), StackTrace: apiErr.StackTrace, Fields: fields}
}

// bundledPath is the position Lua puts in front of an error raised in the
// bundled procedures: "stdlib/switchover.lua:65: ".
var bundledPath = regexp.MustCompile(`(^|[\s(])stdlib/[\w/]+\.lua:\d+: `)

// bundledPathsOut drops the positions inside the bundled procedures from
// an error message: an operator reads "server: no server named db9", not
// the line of switchover.lua that asked. -v keeps them (and the stack
// trace) for whoever debugs the procedure itself. Positions in the
// operator's own playbooks stay: those are lines they can fix.
func (s *State) bundledPathsOut(msg string) string {
	if s.cfg.Verbose {
		return msg
	}
	return bundledPath.ReplaceAllString(msg, "$1")
}
