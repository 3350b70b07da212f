package bindings

import (
	"context"
	"sync"

	"github.com/replicant-lua/replicant-lua/runtime/binlog"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Registry holds what outlives one run: one server object per distinct
// login (so that scripts share sessions), the machine behind each server,
// and the binlog iterators still open. A one-shot command gets a registry
// of its own with its State; a long-running process (watch) keeps one for
// days and hands it to a fresh State for each playbook it runs.
//
// A registry serves one State at a time: the State applies its run's
// observer, dry-run mode and deadlines to every server while attached.
type Registry struct {
	servers  map[server.Config]*server.Server
	order    []*server.Server // in creation order, for Close
	machines map[*server.Server]machine.Machine

	mu      sync.Mutex // readers are closed from context hooks too
	readers map[*luaReader]bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		servers:  map[server.Config]*server.Server{},
		machines: map[*server.Server]machine.Machine{},
		readers:  map[*luaReader]bool{},
	}
}

// Servers lists the server objects in the order they were made.
func (r *Registry) Servers() []*server.Server { return append([]*server.Server(nil), r.order...) }

// Close closes the open binlog iterators and disconnects every server.
func (r *Registry) Close() {
	r.closeReaders()
	for _, sv := range r.order {
		sv.Close()
	}
}

// lookup returns the server object for cfg, if one was made.
func (r *Registry) lookup(cfg server.Config) (*server.Server, bool) {
	sv, ok := r.servers[cfg]
	return sv, ok
}

func (r *Registry) add(cfg server.Config, sv *server.Server) {
	r.servers[cfg] = sv
	r.order = append(r.order, sv)
}

// attach applies one run's settings to every server object; a nil
// observer and progress detach the run.
func (r *Registry) attach(o server.Observer, p server.Progress, dryRun bool, d server.Deadlines) {
	for _, sv := range r.order {
		sv.SetObserver(o)
		sv.SetProgress(p)
		sv.SetDryRun(dryRun)
		sv.SetDeadlines(d)
	}
}

// track registers an open binlog iterator; the end of ctx (a cancel, the
// --timeout, or State.Close) closes one a `break` left open.
func (r *Registry) track(ctx context.Context, sv *server.Server, rd binlog.Reader) *luaReader {
	lr := &luaReader{sv: sv, r: rd, reg: r}
	lr.stop = context.AfterFunc(ctx, lr.close)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.readers[lr] = true
	return lr
}

func (r *Registry) untrack(lr *luaReader) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.readers, lr)
}

func (r *Registry) openReaders() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.readers)
}

// closeReaders closes every iterator left open and waits until their
// connections are gone.
func (r *Registry) closeReaders() {
	r.mu.Lock()
	var open []*luaReader
	for lr := range r.readers {
		open = append(open, lr)
	}
	r.mu.Unlock()
	for _, lr := range open {
		lr.close()
	}
}
