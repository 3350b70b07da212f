package bindings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
	"github.com/replicant-lua/replicant-lua/runtime/topology"
	"github.com/replicant-lua/replicant-lua/runtime/watch"
)

// WatchConfig is what `replicant-lua watch` needs for one deployment.
type WatchConfig struct {
	// Run is the configuration each incident's playbook runs with: a
	// fresh interpreter per incident, answering yes to rep.confirm.
	Run Config
	// Playbook is the operator's failover playbook; "" runs the bundled
	// failover (with --dead NAME).
	Playbook string
	Interval time.Duration
	Block    time.Duration
	// HungAfter is how long the replicas must have received nothing from
	// a primary that times out before it is hung (0: two heartbeat
	// periods, at least 2 s).
	HungAfter time.Duration
	// FenceNone fails a hung primary over without stopping it first: for
	// an operator whose primary cannot come back (a fence of their own).
	FenceNone bool
	// Log receives the watcher's lines.
	Log func(string)
	// OnLook receives each discovery's duration (the metrics).
	OnLook func(time.Duration)
	// OnClear is called when the operator clears the block.
	OnClear func()
	// Gate and Leader are the watcher's (watch.Options), with a
	// coordinator: only the leader of the cluster acts.
	Gate   func(ctx context.Context) error
	Leader func() string
	// AroundFailover, when set, runs each failover (run): to record it
	// where the other watchers see it, before and after.
	AroundFailover func(ctx context.Context, inc watch.Incident, run func() error) error
}

// probeTimeout bounds each probe session: connect and every read of a
// discovery, so that a hung server costs a probe no more than this.
func probeTimeout(interval time.Duration) time.Duration {
	return max(2*interval, 500*time.Millisecond)
}

// NewWatcher builds the watcher of one deployment: probe sessions of its
// own on every server (short timeouts, apart from the sessions of the
// playbooks), the bundled failover or the operator's playbook per
// incident, the fence through each server's machine. close ends the
// probe sessions.
func NewWatcher(wc WatchConfig) (w *watch.Watcher, close func(), err error) {
	d := wc.Run.Deployment
	if d == nil {
		return nil, nil, errors.New("watch: needs a deployment (-d FILE)")
	}
	timeout := probeTimeout(max(wc.Interval, watch.DefaultInterval))
	var seeds []*server.Server
	closeAll := func() {
		for _, sv := range seeds {
			sv.Close()
		}
	}
	for _, name := range d.Names() {
		cfg, err := d.ServerConfig(name)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		cfg.ConnectTimeout = timeout
		sv, err := server.New(cfg)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("watch: %s: %w", name, err)
		}
		seeds = append(seeds, sv)
	}
	opts := watch.Options{
		Cluster: d.Path, Interval: wc.Interval, Block: wc.Block, HungAfter: wc.HungAfter, Log: wc.Log, OnLook: wc.OnLook, OnClear: wc.OnClear,
		Discover: (&watch.Prober{Discover: func(ctx context.Context) (*topology.Topology, error) {
			return topology.Discover(ctx, seeds, topology.Options{ServerTimeout: timeout,
				Member: func(sv *server.Server) bool { _, ok := d.Servers[sv.Config().Name]; return ok }})
		}}).Look,
		Gate: wc.Gate, Leader: wc.Leader,
		Failover: func(ctx context.Context, inc watch.Incident) error {
			if wc.AroundFailover != nil {
				return wc.AroundFailover(ctx, inc, func() error { return runIncident(ctx, wc, inc) })
			}
			return runIncident(ctx, wc, inc)
		},
		Demote: func(ctx context.Context, n *topology.Node) error { return demote(ctx, wc, n.Name) },
	}
	if opts.FenceNone = wc.FenceNone; !wc.FenceNone {
		opts.Fence = func(ctx context.Context, n *topology.Node) error { return fence(ctx, wc, n.Name) }
	}
	w, err = watch.New(opts)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return w, closeAll, nil
}

// fence stops a hung server through its machine at once: SIGKILL (a
// process machine, here or over ssh), systemctl kill --signal=SIGKILL
// then stop (systemd; see machine.Systemd.Kill for why not stop alone).
// A clean stop would wake it up to shut down by itself, and awake it may
// still commit. Kill returns once the server is gone. A server without a
// machine, or with one that cannot kill it, cannot be fenced: the watcher
// then refuses the failover (unless --fence none).
func fence(ctx context.Context, wc WatchConfig, name string) error {
	entry := wc.Run.Deployment.Servers[name]
	if entry.Machine == nil {
		return fmt.Errorf("%s has no machine in the deployment to stop it with", name)
	}
	m, err := machine.New(*entry.Machine)
	if err != nil {
		return fmt.Errorf("%s: machine: %w", name, err)
	}
	k, ok := m.(machine.Killer)
	if !ok {
		return fmt.Errorf("%s: machine %s cannot kill its server", name, m)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return k.Kill(ctx)
}

// runIncident runs the failover for one incident in a fresh interpreter:
// the bundled failover told which server is dead, or the operator's
// playbook with the global `incident` (cluster, verdict, server,
// evidence, at, fenced).
func runIncident(ctx context.Context, wc WatchConfig, inc watch.Incident) error {
	cfg := incidentConfig(wc)
	st := New(ctx, cfg)
	defer st.Close()
	st.setIncident(inc)
	var err error
	if wc.Playbook != "" {
		err = st.RunFile(wc.Playbook, nil)
	} else {
		// A dead primary the watcher has judged already: failover need not
		// ask its replicas again for --confirm-timeout. A hung one it has
		// just fenced: the receivers may take a moment to notice the
		// process gone (seen under load: db2's receiver still "connected"
		// 295 ms after the fence), so failover asks them again, for its
		// default confirm timeout at most.
		args := []string{"--dead", inc.Verdict.Server}
		if !inc.Fenced {
			args = append(args, "--confirm-timeout", "0")
		}
		if inc.Verdict.Kind == watch.HungPrimary && !inc.Fenced {
			// --fence none: the operator fences hung primaries their own
			// way, and failover's own check would refuse one that hangs.
			args = append(args, "--force")
		}
		err = st.RunStdlib("failover", args)
	}
	code := 0
	if err != nil {
		code = 1
	}
	st.EndAudit(code, err) // the audit's footer: each incident is a run of its own there
	return tidyRunError(err)
}

// incidentConnectTimeout bounds the connections of an incident's
// playbook, unless the deployment asks for shorter: a hung server, the
// very thing watch reacts to, must cost the failover a second, not the
// default 5 s at each connection.
const incidentConnectTimeout = time.Second

// incidentConfig is the configuration of an incident's interpreter: no
// terminal (rep.confirm is answered yes), a real run, short connects.
func incidentConfig(wc WatchConfig) Config {
	cfg := wc.Run
	cfg.Yes, cfg.Confirm, cfg.JSON, cfg.DryRun = true, nil, false, false
	d := *cfg.Deployment
	if d.ConnectTimeout == 0 || d.ConnectTimeout > incidentConnectTimeout {
		d.ConnectTimeout = incidentConnectTimeout
	}
	cfg.Deployment = &d
	return cfg
}

// demote makes a server read-only and ends its client sessions, the
// way the procedures fence a primary.
func demote(ctx context.Context, wc WatchConfig, name string) error {
	cfg := incidentConfig(wc)
	st := New(ctx, cfg)
	defer st.Close()
	defer func() { st.EndAudit(0, nil) }()
	return tidyRunError(st.RunString(fmt.Sprintf(
		"local db = rep.server(%q); db:set_read_only(true); db:kill_connections()", name), "(watch: demote)"))
}

// tidyRunError keeps a failed playbook's message (with its report of
// steps), not its Go type.
func tidyRunError(err error) error {
	var re *RunError
	if errors.As(err, &re) {
		return errors.New(strings.TrimSpace(re.Message))
	}
	return err
}

// setIncident gives the playbook the global `incident`.
func (s *State) setIncident(inc watch.Incident) {
	L := s.L
	t := L.NewTable()
	t.RawSetString("cluster", lua.LString(inc.Cluster))
	t.RawSetString("verdict", lua.LString(inc.Verdict.Kind))
	t.RawSetString("server", lua.LString(inc.Verdict.Server))
	t.RawSetString("evidence", stringList(L, inc.Verdict.Evidence))
	t.RawSetString("at", lua.LString(inc.At.UTC().Format(time.RFC3339Nano)))
	t.RawSetString("fenced", lua.LBool(inc.Fenced))
	L.SetGlobal("incident", t)
}
