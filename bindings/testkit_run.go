package bindings

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	gosql "github.com/go-sql-driver/mysql"
	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/harness"
)

// The test kit's writer, runs of the binary (t.run with its on_step
// hooks, t.watch) and t.routed_to.

var writerKeys = optSpec{"table": optString, "rate": optInt, "retry_same_id": optBool, "via": optString}

// t.writer{table=, rate=, retry_same_id=, via="haproxy"} → a writer that
// inserts rows one at a time, as the sandbox's app account, until
// w:stop() returns { acked, failed, lost = {ids}, duplicated = {ids},
// max_gap (seconds), server }.
func (s *State) kitWriter(L *lua.LState) int {
	k := s.kitSandbox(L, "t.writer")
	o := checkOptions(L, 1, "t.writer", writerKeys)
	pw, err := k.sb.AppUser.Password()
	if err != nil {
		L.RaiseError("t.writer: %v", err)
	}
	wo := harness.WriterOptions{Table: "replicant_test.writes", Rate: o.int("rate"), RetrySameID: o.bool("retry_same_id"),
		User: k.sb.AppUser.Name, Password: pw}
	if o.has("table") {
		wo.Table = o.str("table")
	}
	switch via := o.str("via"); via {
	case "":
		for _, in := range k.sb.Instances {
			wo.Servers = append(wo.Servers, in.Addr())
		}
	case "haproxy":
		if k.hap == nil {
			L.RaiseError("t.writer: via = \"haproxy\": the topology has no HAProxy (t.topology{ haproxy = true })")
		}
		wo.Addr = k.hap.Addr()
	default:
		L.RaiseError("t.writer: via = %q: want \"haproxy\", or none for the writable server", via)
	}
	w, err := harness.StartWriter(L.Context(), wo)
	if err != nil {
		L.RaiseError("t.writer: %v", err)
	}
	k.writers = append(k.writers, w)
	t := L.NewTable()
	stopped := false
	L.SetFuncs(t, map[string]lua.LGFunction{
		"acked": func(L *lua.LState) int { L.Push(lua.LNumber(w.Acked())); return 1 },
		"stop": func(L *lua.LState) int {
			if stopped {
				L.RaiseError("w:stop(): stopped already")
			}
			stopped = true
			rep, err := w.Stop(L.Context())
			if err != nil {
				L.RaiseError("w:stop(): %v", err)
			}
			out := L.NewTable()
			out.RawSetString("acked", lua.LNumber(rep.Acked))
			out.RawSetString("failed", lua.LNumber(rep.Failed))
			out.RawSetString("lost", idList(L, rep.Lost))
			out.RawSetString("duplicated", idList(L, rep.Duplicated))
			out.RawSetString("max_gap", lua.LNumber(rep.MaxGap.Seconds()))
			out.RawSetString("server", lua.LString(rep.Server))
			L.Push(out)
			return 1
		},
	})
	L.Push(t)
	return 1
}

func idList(L *lua.LState, ids []int64) *lua.LTable {
	t := L.CreateTable(len(ids), 0)
	for _, id := range ids {
		t.Append(lua.LNumber(id))
	}
	return t
}

// env is what runs of the binary get: the app's password (for a
// playbook's own writer), the servers' pids, a TMPDIR of the test's own.
func (k *TestKit) env(extra ...string) ([]string, error) {
	pw, err := k.sb.AppUser.Password()
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(k.Dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "APP_PASSWORD="+pw, "TMPDIR="+tmp)
	for _, in := range k.sb.Instances {
		env = append(env, strings.ToUpper(in.Name)+"_PID="+strconv.Itoa(k.inj.Pid(in.Name)))
	}
	return append(env, extra...), nil
}

// checkSecrets records a failure when output shows a password.
func (k *TestKit) checkSecrets(what, output string) {
	for _, pw := range k.secrets {
		if strings.Contains(output, pw) {
			k.fail(what + ": a password of the sandbox appears in the output")
			return
		}
	}
}

// args reads the array part of table t as command-line words.
func argWords(L *lua.LState, t *lua.LTable, fn string) []string {
	var words []string
	for i := 1; i <= t.Len(); i++ {
		v := t.RawGetInt(i)
		switch v.(type) {
		case lua.LString, lua.LNumber:
			words = append(words, v.String())
		default:
			L.RaiseError("%s: argument %d is a %s; want strings", fn, i, v.Type())
		}
	}
	return words
}

// t.run{"failover", "--yes", on_step = { ["promote"] = function(step) ... end }}
// → { exit =, stdout =, stderr = }: the binary, with -d and the sandbox's
// deployment, run from the test file's folder. Each on_step function runs
// once, before the first step whose name begins with its key, while that
// step waits: the fault lands mid-procedure.
func (s *State) kitRun(L *lua.LState) int {
	k := s.kitSandbox(L, "t.run")
	spec := L.CheckTable(1)
	words := argWords(L, spec, "t.run")
	if len(words) == 0 {
		L.RaiseError("t.run: no arguments: what does it run? (t.run{ \"failover\" })")
	}
	hooks := map[string]*lua.LFunction{}
	var bad error
	spec.ForEach(func(key, v lua.LValue) {
		if _, positional := key.(lua.LNumber); positional {
			return // an argument: argWords read them
		}
		switch key.String() {
		case "on_step":
			t, ok := v.(*lua.LTable)
			if !ok {
				bad = fmt.Errorf("on_step: want a table of step = function")
				return
			}
			t.ForEach(func(name, fn lua.LValue) {
				f, ok := fn.(*lua.LFunction)
				if _, str := name.(lua.LString); !ok || !str {
					bad = fmt.Errorf("on_step: want [\"step name\"] = function, got %s = %s", name, fn.Type())
					return
				}
				hooks[name.String()] = f
			})
		default:
			bad = fmt.Errorf("unknown key %q (want the arguments, and on_step)", key.String())
		}
	})
	if bad != nil {
		L.RaiseError("t.run: %v", bad)
	}
	var extra []string
	var steps *harness.StepHooks
	if len(hooks) > 0 {
		var err error
		if steps, err = harness.ListenSteps(k.Dir); err != nil {
			L.RaiseError("t.run: %v", err)
		}
		defer steps.Close()
		extra = append(extra, harness.StepHookEnv+"="+steps.Path())
	}
	env, err := k.env(extra...)
	if err != nil {
		L.RaiseError("t.run: %v", err)
	}
	ctx := L.Context()
	cmd := exec.CommandContext(ctx, k.Binary, append([]string{"-d", k.sb.DeploymentPath}, words...)...)
	cmd.Dir, cmd.Env, cmd.Stdin = k.WorkDir, env, nil
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		L.RaiseError("t.run: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var runErr, hookErr error
	var calls <-chan harness.StepCall
	if steps != nil {
		calls = steps.Steps()
	}
	for waiting := true; waiting; {
		select {
		case runErr = <-done:
			waiting = false
		case call := <-calls:
			msg := ""
			if err := s.runStepHook(L, hooks, call.Step()); err != nil {
				msg = err.Error()
				hookErr = errors.Join(hookErr, err)
			}
			call.Reply(msg)
		}
	}
	what := "t.run " + strings.Join(words, " ")
	k.checkSecrets(what, stdout.String()+stderr.String())
	if hookErr != nil {
		L.RaiseError("%s: %v\nstderr:\n%s", what, hookErr, stderr.String())
	}
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(runErr, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	case runErr != nil:
		L.RaiseError("%s: %v", what, runErr)
	}
	out := L.NewTable()
	out.RawSetString("exit", lua.LNumber(code))
	out.RawSetString("stdout", lua.LString(stdout.String()))
	out.RawSetString("stderr", lua.LString(stderr.String()))
	L.Push(out)
	return 1
}

// runStepHook runs the hook whose key begins step's name, if one is left,
// and forgets it: each runs once.
func (s *State) runStepHook(L *lua.LState, hooks map[string]*lua.LFunction, st harness.Step) error {
	keys := make([]string, 0, len(hooks))
	for key := range hooks {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) }) // the most precise first
	for _, key := range keys {
		if !strings.HasPrefix(st.Name, key) {
			continue
		}
		fn := hooks[key]
		delete(hooks, key)
		arg := L.NewTable()
		arg.RawSetString("procedure", lua.LString(st.Procedure))
		arg.RawSetString("step", lua.LString(st.Name))
		if err := L.CallByParam(lua.P{Fn: fn, NRet: 0, Protect: true}, arg); err != nil {
			return fmt.Errorf("on_step %q: %v", key, err)
		}
		return nil
	}
	return nil
}

// watchRun is a `replicant-lua watch` the test started.
type watchRun struct {
	cmd    *exec.Cmd
	output *harness.Output
	done   chan struct{}
	err    error
}

func (w *watchRun) stop() {
	select {
	case <-w.done:
		return
	default:
	}
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		w.cmd.Process.Kill()
		<-w.done
	}
}

// t.watch{"--interval", "250ms", "--playbook", "drain.lua"} → a running
// `replicant-lua -d DEPLOYMENT watch ...` with w:wait_for(text, timeout)
// (its log has text, within timeout, or an error), w:output(), and
// w:stop() (SIGTERM) → { exit =, output = }. The test's end stops it.
func (s *State) kitWatch(L *lua.LState) int {
	k := s.kitSandbox(L, "t.watch")
	words := argWords(L, L.OptTable(1, L.NewTable()), "t.watch")
	env, err := k.env()
	if err != nil {
		L.RaiseError("t.watch: %v", err)
	}
	cmd := exec.Command(k.Binary, append([]string{"-d", k.sb.DeploymentPath, "watch"}, words...)...)
	w := &watchRun{cmd: cmd, output: &harness.Output{}, done: make(chan struct{})}
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = k.WorkDir, env, w.output, w.output
	if err := cmd.Start(); err != nil {
		L.RaiseError("t.watch: %v", err)
	}
	go func() { w.err = cmd.Wait(); close(w.done) }()
	k.watches = append(k.watches, w)
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"output": func(L *lua.LState) int { L.Push(lua.LString(w.output.String())); return 1 },
		"wait_for": func(L *lua.LState) int { // w:wait_for(text, timeout)
			text := L.CheckString(2)
			timeout := 30 * time.Second
			if L.Get(3) != lua.LNil {
				if timeout, err = toDuration(L.Get(3)); err != nil {
					L.ArgError(3, err.Error())
				}
			}
			deadline := time.Now().Add(timeout)
			for !strings.Contains(w.output.String(), text) {
				select {
				case <-w.done:
					if strings.Contains(w.output.String(), text) {
						break
					}
					L.RaiseError("t.watch: it ended (%v) before logging %q:\n%s", w.err, text, w.output.String())
				case <-L.Context().Done():
					L.RaiseError("t.watch: %v", L.Context().Err())
				case <-time.After(20 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					L.RaiseError("t.watch: no %q in its log after %s:\n%s", text, timeout, w.output.String())
				}
			}
			return 0
		},
		"stop": func(L *lua.LState) int {
			w.stop()
			code := 0
			var ee *exec.ExitError
			if errors.As(w.err, &ee) {
				code = ee.ExitCode()
			}
			k.checkSecrets("t.watch", w.output.String())
			out := L.NewTable()
			out.RawSetString("exit", lua.LNumber(code))
			out.RawSetString("output", lua.LString(w.output.String()))
			L.Push(out)
			return 1
		},
	})
	L.Push(t)
	return 1
}

// t.routed_to() → the name of the server a new client reaches through
// the topology's HAProxy (by its server_id), or nil and why.
func (s *State) kitRoutedTo(L *lua.LState) int {
	k := s.kitSandbox(L, "t.routed_to")
	if k.hap == nil {
		L.RaiseError("t.routed_to: the topology has no HAProxy (t.topology{ haproxy = true })")
	}
	pw, err := k.sb.AppUser.Password()
	if err != nil {
		L.RaiseError("t.routed_to: %v", err)
	}
	cfg := gosql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = k.sb.AppUser.Name, pw, "tcp", k.hap.Addr()
	cfg.Timeout, cfg.ReadTimeout = 2*time.Second, 5*time.Second
	conn, err := gosql.NewConnector(cfg)
	if err != nil {
		L.RaiseError("t.routed_to: %v", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var id int
	if err := db.QueryRowContext(L.Context(), "SELECT @@server_id").Scan(&id); err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(fmt.Sprintf("through haproxy %s: %v", k.hap.Addr(), err)))
		return 2
	}
	for _, in := range k.sb.Instances {
		if in.ServerID == id {
			L.Push(lua.LString(in.Name))
			return 1
		}
	}
	L.Push(lua.LNil)
	L.Push(lua.LString(fmt.Sprintf("server_id %d is none of the sandbox's", id)))
	return 2
}
