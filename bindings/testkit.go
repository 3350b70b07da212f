package bindings

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

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

	mu       sync.Mutex // failures, which the timers of t.pause add to too
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

func (k *TestKit) fail(msg string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.failures = append(k.failures, msg)
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
	if k.inj != nil {
		if err := k.inj.Undo(ctx); err != nil {
			errs = append(errs, err)
		}
		k.inj.Close()
	}
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
		h, err := harness.SandboxHAProxy(ctx, sb, filepath.Join(k.Dir, "haproxy"), sb.Primary().Name)
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
	err := k.inj.Pause(name)
	if err != nil {
		L.RaiseError("t.pause: %v", err)
	}
	if d > 0 {
		time.AfterFunc(d, func() {
			if err := k.inj.Resume(name); err != nil {
				k.fail(fmt.Sprintf("t.pause(%s, %s): resume: %v", name, d, err))
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
	err := k.inj.Cut(name, from)
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
	err := k.inj.Lag(L.Context(), name, secs)
	if err != nil {
		L.RaiseError("t.lag: %v", err)
	}
	return 0
}

// t.errant(db) → the GTID of a write made on the replica db itself.
func (s *State) kitErrant(L *lua.LState) int {
	name := s.kitServer(L, 1, "t.errant")
	k := s.cfg.Test
	gtid, err := k.inj.Errant(L.Context(), name)
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
	err := k.inj.MaxConnections(L.Context(), name, n)
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
	pid := k.inj.Pid(name)
	if !harness.ServerRunning(pid) {
		pid = 0
	}
	L.Push(lua.LNumber(pid))
	return 1
}
