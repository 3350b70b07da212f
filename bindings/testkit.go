package bindings

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gosql "github.com/go-sql-driver/mysql"
	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/harness"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// TestKit is what a test file run by `replicant-lua test` has besides the
// replicant module: t.topology starts its sandbox, and the faults, the
// writer, t.run and t.watch act on it. Close undoes it all. The Lua side
// is stdlib/lib/test.lua; this is the Go module it requires,
// "replicant.testkit", present only in such a run.
type TestKit struct {
	Binary   string // the replicant-lua that t.run and t.watch start
	Dir      string // the sandbox and the runs' TMPDIR go there
	Template string // a prepared datadir the sandbox copies
	WorkDir  string // the runs' current folder: the test file's

	mu       sync.Mutex // the injector, from the timers of t.pause too
	sb       *sandbox.Sandbox
	inj      *harness.Injector
	proxied  bool // t.topology{ proxies = true }
	hap      *harness.HAProxy
	writers  []*harness.Writer
	watches  []*watchRun
	secrets  []string
	failures []string
}

// Failures are what the kit found wrong besides the file's own errors: a
// secret in a run's output, a fault that could not be undone.
func (k *TestKit) Failures() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.failures...)
}

// Sandbox is the test's sandbox; nil before t.topology.
func (k *TestKit) Sandbox() *sandbox.Sandbox { return k.sb }

// Close stops the watches and writers still running, undoes the faults
// still in effect, stops HAProxy and the proxies, and, unless keep, the
// sandbox's servers, by pid. Its errors are the undo's.
func (k *TestKit) Close(ctx context.Context, keep bool) error {
	var errs []error
	for _, w := range k.watches {
		w.stop()
	}
	for _, w := range k.writers {
		w.Stop(ctx) // its report no longer matters
	}
	k.mu.Lock()
	if k.inj != nil {
		if err := k.inj.Undo(ctx); err != nil {
			errs = append(errs, err)
		}
		k.inj.Close()
	}
	k.mu.Unlock()
	if k.hap != nil {
		if err := k.hap.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("haproxy: %w", err))
		}
	}
	if k.sb != nil && !keep {
		if err := sandbox.Down(ctx, k.sb.Dir); err != nil {
			errs = append(errs, err)
		}
		sandbox.Remove(k.sb.Dir)
	}
	return errors.Join(errs...)
}

// preloadTestKit makes "replicant.testkit" requirable, in a test file's
// run only.
func (s *State) preloadTestKit() {
	k := s.cfg.Test
	if k == nil {
		return
	}
	s.L.PreloadModule("replicant.testkit", func(L *lua.LState) int {
		L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
			"up":              s.kitUp,
			"kill":            s.kitFault("kill"),
			"pause":           s.kitPause,
			"resume":          s.kitFault("resume"),
			"restart":         s.kitFault("restart"),
			"cut":             s.kitCut,
			"heal":            s.kitFault("heal"),
			"lag":             s.kitLag,
			"errant":          s.kitErrant,
			"break_sql":       s.kitFault("break_sql"),
			"max_connections": s.kitMaxConnections,
			"wrong_password":  s.kitFault("wrong_password"),
			"pid":             s.kitPid,
			"writer":          s.kitWriter,
			"run":             s.kitRun,
			"watch":           s.kitWatch,
			"routed_to":       s.kitRoutedTo,
		}))
		return 1
	})
}

var topologyKeys = optSpec{"servers": optInt, "semi_sync": optBool, "gtid_strict_mode": optBool,
	"options": optTable, "haproxy": optBool, "proxies": optBool}

// kit.up{servers=, semi_sync=, gtid_strict_mode=, options=, haproxy=,
// proxies=}: the sandbox, and the deployment of the run made its own.
// The shape (replicas_of, delay) is test.lua's, on top.
func (s *State) kitUp(L *lua.LState) int {
	k := s.cfg.Test
	o := checkOptions(L, 1, "t.topology", topologyKeys)
	if k.sb != nil {
		L.RaiseError("t.topology: once per test file (a sandbox is up already)")
	}
	n := 3
	if o.has("servers") {
		n = o.int("servers")
	}
	if n < 1 || n > 9 {
		L.RaiseError("t.topology: servers = %d: want 1 to 9", n)
	}
	opts := map[string]string{}
	if o.has("options") {
		var bad error
		o.value("options").(*lua.LTable).ForEach(func(key, v lua.LValue) {
			if _, ok := key.(lua.LString); !ok {
				bad = fmt.Errorf("options: want name = value, got a %s key", key.Type())
			}
			opts[key.String()] = v.String()
		})
		if bad != nil {
			L.RaiseError("t.topology: %v", bad)
		}
	}
	if o.has("gtid_strict_mode") {
		opts["gtid-strict-mode"] = map[bool]string{true: "1", false: "0"}[o.bool("gtid_strict_mode")]
	}
	ctx := L.Context()
	sb, err := sandbox.Up(ctx, sandbox.Options{Dir: filepath.Join(k.Dir, "sandbox"), Servers: n, ServerOptions: opts,
		Template: k.Template, WriteMachines: true, SemiSync: o.bool("semi_sync")})
	if sb != nil {
		k.sb = sb // Close stops what started, even after a failure
	}
	if err != nil {
		L.RaiseError("t.topology: %v", err)
	}
	for _, c := range []sandbox.Credential{sb.User, sb.ReplUser, sb.AppUser} {
		if pw, err := c.Password(); err == nil && pw != "" {
			k.secrets = append(k.secrets, pw)
		}
	}
	k.inj = harness.New(sb)
	if o.bool("proxies") {
		if err := k.inj.Proxy(ctx); err != nil {
			L.RaiseError("t.topology: proxies: %v", err)
		}
		k.proxied = true
	}
	if o.bool("haproxy") {
		servers := map[string]string{}
		for _, in := range sb.Instances {
			servers[in.Name] = in.Addr()
		}
		h, err := harness.StartHAProxy(ctx, harness.HAProxyOptions{Dir: filepath.Join(k.Dir, "haproxy"),
			Servers: servers, Ready: sb.Primary().Name})
		if err != nil {
			L.RaiseError("t.topology: haproxy: %v", err)
		}
		k.hap = h
		if err := h.AddToDeployment(sb.DeploymentPath); err != nil {
			L.RaiseError("t.topology: haproxy: %v", err)
		}
	}
	d, err := LoadDeployment(ctx, sb.DeploymentPath, nil)
	if err != nil {
		L.RaiseError("t.topology: %v", err)
	}
	s.cfg.Deployment = d
	return 0
}

// kitSandbox is the sandbox, or an error naming the function.
func (s *State) kitSandbox(L *lua.LState, fn string) *TestKit {
	k := s.cfg.Test
	if k.sb == nil {
		L.RaiseError("%s: no sandbox yet: call t.topology{...} first", fn)
	}
	return k
}

// kitServer reads argument n as a server of the sandbox: its name or a
// server object.
func (s *State) kitServer(L *lua.LState, n int, fn string) string {
	k := s.kitSandbox(L, fn)
	var name string
	switch v := L.Get(n).(type) {
	case lua.LString:
		name = string(v)
	case *lua.LUserData:
		if sv, ok := v.Value.(*server.Server); ok {
			name = sv.Config().Name
		}
	}
	if _, ok := k.sb.Instance(name); !ok {
		names := make([]string, len(k.sb.Instances))
		for i, in := range k.sb.Instances {
			names[i] = in.Name
		}
		L.ArgError(n, fmt.Sprintf("%s: want a server of the sandbox (%s), got %s", fn, strings.Join(names, ", "), L.Get(n).String()))
	}
	return name
}

// kitFault is t.NAME(db) for a fault that takes only the server.
func (s *State) kitFault(op string) lua.LGFunction {
	return func(L *lua.LState) int {
		fn := "t." + op
		name := s.kitServer(L, 1, fn)
		k := s.cfg.Test
		ctx := L.Context()
		k.mu.Lock()
		var err error
		switch op {
		case "kill":
			err = k.inj.Kill(ctx, name)
		case "resume":
			err = k.inj.Resume(name)
		case "restart":
			err = k.inj.Restart(ctx, name)
		case "heal":
			err = k.inj.Heal(name)
		case "break_sql":
			err = k.inj.BreakSQL(ctx, name)
		case "wrong_password":
			err = k.inj.WrongPassword(name)
		}
		k.mu.Unlock()
		if err != nil {
			L.RaiseError("%s: %v", fn, err)
		}
		return 0
	}
}

// t.pause(db) stops it (SIGSTOP) until t.resume(db); t.pause(db, "500ms")
// resumes it after that long, while the test goes on.
func (s *State) kitPause(L *lua.LState) int {
	name := s.kitServer(L, 1, "t.pause")
	k := s.cfg.Test
	var d time.Duration
	if L.Get(2) != lua.LNil {
		var err error
		if d, err = toDuration(L.Get(2)); err != nil || d == 0 {
			L.ArgError(2, fmt.Sprintf("t.pause: want a duration such as \"500ms\" (%v)", err))
		}
	}
	k.mu.Lock()
	err := k.inj.Pause(name)
	k.mu.Unlock()
	if err != nil {
		L.RaiseError("t.pause: %v", err)
	}
	if d > 0 {
		time.AfterFunc(d, func() {
			k.mu.Lock()
			defer k.mu.Unlock()
			if err := k.inj.Resume(name); err != nil {
				k.failures = append(k.failures, fmt.Sprintf("t.pause(%s, %s): resume: %v", name, d, err))
			}
		})
	}
	return 0
}

// t.cut(db, {from = "tool"|"replicas"}): the path to db from the tool
// (every replicant-lua run and the test's own checks), or from its
// replicas, goes silent until t.heal(db).
func (s *State) kitCut(L *lua.LState) int {
	name := s.kitServer(L, 1, "t.cut")
	o := checkOptions(L, 2, "t.cut", optSpec{"from": optString})
	from := "tool"
	if o.has("from") {
		from = o.str("from")
	}
	if from != "tool" && from != "replicas" {
		L.RaiseError("t.cut: from = %q: want \"tool\" or \"replicas\"", from)
	}
	k := s.cfg.Test
	if !k.proxied {
		L.RaiseError("t.cut: %s: the topology has no proxies to cut: t.topology{ proxies = true }", name)
	}
	k.mu.Lock()
	err := k.inj.Cut(name, from)
	k.mu.Unlock()
	if err != nil {
		L.RaiseError("t.cut: %v", err)
	}
	return 0
}

// t.lag(db, seconds): the replica applies its events that late
// (MASTER_DELAY); 0 ends it.
func (s *State) kitLag(L *lua.LState) int {
	name := s.kitServer(L, 1, "t.lag")
	secs := L.CheckInt(2)
	k := s.cfg.Test
	k.mu.Lock()
	err := k.inj.Lag(L.Context(), name, secs)
	k.mu.Unlock()
	if err != nil {
		L.RaiseError("t.lag: %v", err)
	}
	return 0
}

// t.errant(db) → the GTID of a write made on the replica db itself.
func (s *State) kitErrant(L *lua.LState) int {
	name := s.kitServer(L, 1, "t.errant")
	k := s.cfg.Test
	k.mu.Lock()
	gtid, err := k.inj.Errant(L.Context(), name)
	k.mu.Unlock()
	if err != nil {
		L.RaiseError("t.errant: %v", err)
	}
	L.Push(lua.LString(gtid))
	return 1
}

// t.max_connections(db, n): SET GLOBAL max_connections, put back after.
func (s *State) kitMaxConnections(L *lua.LState) int {
	name := s.kitServer(L, 1, "t.max_connections")
	n := L.CheckInt(2)
	k := s.cfg.Test
	k.mu.Lock()
	err := k.inj.MaxConnections(L.Context(), name, n)
	k.mu.Unlock()
	if err != nil {
		L.RaiseError("t.max_connections: %v", err)
	}
	return 0
}

// t.pid(db) → its server's pid now: 0 once it ended, killed by the test
// or stopped by a playbook (a zombie counts as ended).
func (s *State) kitPid(L *lua.LState) int {
	name := s.kitServer(L, 1, "t.pid")
	k := s.cfg.Test
	k.mu.Lock()
	pid := k.inj.Pid(name)
	k.mu.Unlock()
	if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err != nil || bytes.Contains(stat, []byte(") Z ")) {
		pid = 0
	}
	L.Push(lua.LNumber(pid))
	return 1
}

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
	k.mu.Lock()
	for _, in := range k.sb.Instances {
		env = append(env, strings.ToUpper(in.Name)+"_PID="+strconv.Itoa(k.inj.Pid(in.Name)))
	}
	k.mu.Unlock()
	return append(env, extra...), nil
}

// checkSecrets records a failure when output shows a password.
func (k *TestKit) checkSecrets(what, output string) {
	for _, pw := range k.secrets {
		if strings.Contains(output, pw) {
			k.mu.Lock()
			k.failures = append(k.failures, what+": a password of the sandbox appears in the output")
			k.mu.Unlock()
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
		switch key.(type) {
		case lua.LNumber:
			return
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
	output *Output
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

// Output is a buffer that goroutines may write to while another reads
// it: a state's Stdout (rep.parallel's goroutines print too), a running
// command's output.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
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
	w := &watchRun{cmd: cmd, output: &Output{}, done: make(chan struct{})}
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
