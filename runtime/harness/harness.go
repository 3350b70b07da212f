// Package harness injects faults into a sandbox's servers and undoes
// them: the Go side of the `replicant.test` Lua API (t.kill, t.pause,
// t.cut, ...) and of the scenario runner's fault files. An Injector
// applies faults to one sandbox (runtime/sandbox) and remembers what it
// did, so that Undo puts back, newest first, what is still in effect.
//
// The injector reaches every server directly, as the sandbox's own
// account, never through the proxies it puts in front of them: a cut
// path must not keep the harness from healing it.
package harness

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Directions of a cut (Cut's from).
const (
	FromTool     = "tool"
	FromReplicas = "replicas"
)

// waitTimeout bounds each wait of a fault (a port to refuse, a replica
// to stop or reconnect) when ctx has no earlier deadline.
const waitTimeout = 30 * time.Second

// Injector applies faults to one sandbox's servers and undoes them. Its
// methods may be called from several goroutines.
type Injector struct {
	sb *sandbox.Sandbox

	mu      sync.Mutex
	pids    map[string]int        // current pid; 0 once killed
	killed  map[string]bool       // killed and not restarted since
	proxies map[string]*proxyPair // nil until Proxy
	undo    []undoEntry           // oldest first
	depText []byte                // the deployment before the first WrongPassword
}

// proxyPair is what Proxy puts in front of one server.
type proxyPair struct{ tool, repl *Proxy }

// undoEntry is one fault still in effect. key is unique among the
// entries ("pause db1"); live says the undo talks to the server, so it
// is skipped for a server killed since (killed servers stay dead).
type undoEntry struct {
	key, fault, server string
	live               bool
	undo               func(ctx context.Context) error
	// discard, when set, lets go of what undo would have used, when the
	// entry is dropped without being undone.
	discard func()
}

// New returns an injector for sb's servers, as sb records them (their
// pids included).
func New(sb *sandbox.Sandbox) *Injector {
	f := &Injector{sb: sb, pids: map[string]int{}, killed: map[string]bool{}}
	for _, in := range sb.Instances {
		f.pids[in.Name] = in.Pid
	}
	return f
}

// Pid is the server's current pid: it changes with Restart, and is 0
// once Kill has ended it (or for a name the sandbox does not have).
func (f *Injector) Pid(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pids[name]
}

// instance finds a server of the sandbox, with its current pid.
func (f *Injector) instance(name string) (sandbox.Instance, error) {
	in, ok := f.sb.Instance(name)
	if !ok {
		return in, fmt.Errorf("no server %q in the sandbox %s", name, f.sb.Dir)
	}
	f.mu.Lock()
	in.Pid = f.pids[name]
	f.mu.Unlock()
	return in, nil
}

// connect opens the tool's account on the server, at its real address.
// The caller closes it.
func (f *Injector) connect(in sandbox.Instance) (*server.Server, error) {
	cfg, err := f.sb.ServerConfig(in)
	if err != nil {
		return nil, err
	}
	return server.New(cfg)
}

// push records a fault in effect; a fault already recorded under key
// keeps its first undo, which puts back the state before it.
func (f *Injector) push(e undoEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.undo {
		if x.key == e.key {
			return
		}
	}
	f.undo = append(f.undo, e)
}

// has reports whether a fault is recorded under key.
func (f *Injector) has(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.undo {
		if x.key == key {
			return true
		}
	}
	return false
}

// drop forgets the faults recorded under keys: undone by hand (Resume,
// Heal) or by the server's own end (a kill, a restart).
func (f *Injector) drop(keys ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	keep := f.undo[:0]
	for _, x := range f.undo {
		drop := false
		for _, k := range keys {
			drop = drop || x.key == k
		}
		switch {
		case !drop:
			keep = append(keep, x)
		case x.discard != nil:
			x.discard()
		}
	}
	f.undo = keep
}

// Undo puts back, newest first, every fault still in effect: paused
// servers resumed, cuts healed, replica delays and max_connections back
// to what they were, the deployment file back. Killed servers stay dead
// (and what needs them running is skipped); errant and conflicting rows
// stay. Each undo runs even when an earlier one failed; the errors are
// joined, each naming the fault and the server. It takes a context of
// its own: a cancelled run still rolls back.
func (f *Injector) Undo(ctx context.Context) error {
	f.mu.Lock()
	entries := f.undo
	f.undo = nil
	killed := make(map[string]bool, len(f.killed))
	for k, v := range f.killed {
		killed[k] = v
	}
	f.mu.Unlock()
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.live && killed[e.server] {
			continue
		}
		if err := e.undo(ctx); err != nil {
			errs = append(errs, fmt.Errorf("undo %s %s: %w", e.fault, e.server, err))
		}
	}
	return errors.Join(errs...)
}

// Close stops the proxies that Proxy started. Call it after Undo; the
// deployment file and the replicas still name the proxies (Unproxy
// points them back first).
func (f *Injector) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.proxies {
		p.tool.Close()
		p.repl.Close()
	}
}

// bounded gives ctx a deadline of waitTimeout unless it has an earlier one.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < waitTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, waitTimeout)
}
