package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

// Defaults of Options.
const (
	DefaultInterval = 250 * time.Millisecond
	DefaultBlock    = time.Hour
)

// Incident is a failure the watcher acts on: the verdict and the
// discovery it came from.
type Incident struct {
	Cluster  string
	Verdict  Verdict
	Topology *topology.Topology
	At       time.Time
	// Fenced: the watcher stopped the hung primary through its machine.
	Fenced bool
}

// Options configure a Watcher. Discover and Failover are required.
type Options struct {
	// Cluster names the cluster in logs and status.
	Cluster string
	// Interval is the time between two discoveries.
	Interval time.Duration
	// Block is how long after an automatic failover a second one is
	// refused (it is reported instead), unless Clear is called.
	Block time.Duration
	// HungAfter is the Detector's.
	HungAfter time.Duration

	// Discover reads the cluster once, with short timeouts. An error is
	// a discovery that found nothing to judge (no seed answered at all is
	// still a topology, with every node unreachable).
	Discover func(ctx context.Context) (*topology.Topology, error)
	// Fence stops a hung primary before the failover (through its
	// machine: SIGKILL, systemd, ssh). nil: a hung primary is not failed
	// over, only reported, since it may wake up writable.
	Fence func(ctx context.Context, primary *topology.Node) error
	// FenceNone fails a hung primary over without a Fence: the operator
	// fences it by other means (--fence none).
	FenceNone bool
	// Failover runs the failover playbook for the incident.
	Failover func(ctx context.Context, inc Incident) error
	// Demote makes a server that came back writable after a failover
	// read-only again and ends its client sessions. nil: only reported.
	Demote func(ctx context.Context, n *topology.Node) error
	// Log receives one line per change of verdict and per action.
	Log func(line string)
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// OnLook receives how long each discovery took (the metrics'
	// histogram).
	OnLook func(time.Duration)
	// OnClear is called when the operator clears the block (to record
	// that the runs a Hold named were dealt with).
	OnClear func()
	// Gate, when set, is asked before every action (failover, fence,
	// demotion): an error keeps this watcher from acting — it is a
	// standby, or its coordinator lost its quorum — and is logged when
	// the watcher starts being refused. It may call Hold or BlockUntil (a watcher that just took
	// over honours its predecessor's block). nil: this watcher acts alone.
	Gate func(ctx context.Context) error
	// Leader says who acts for the cluster, for the status ("" when the
	// watcher acts alone).
	Leader func() string
}

// Record is what the watcher did about one incident.
type Record struct {
	Verdict  Verdict       `json:"verdict"`
	At       time.Time     `json:"at"`
	Fenced   bool          `json:"fenced"`
	Outcome  string        `json:"outcome"` // "done", "failed", "blocked", "refused"
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Status is a snapshot of one watcher, for `/status` and the metrics.
type Status struct {
	Cluster   string    `json:"cluster"`
	Verdicts  []Verdict `json:"verdicts"`
	LastLook  time.Time `json:"last_look"`
	LookError string    `json:"look_error,omitempty"`
	Acting    bool      `json:"acting"`
	Last      *Record   `json:"last_incident,omitempty"`
	// Suppressed is the last incident the block kept from a failover.
	Suppressed   *Record   `json:"suppressed,omitempty"`
	BlockedUntil time.Time `json:"blocked_until,omitempty"`
	BlockReason  string    `json:"block_reason,omitempty"`
	// Leader says which watcher acts for the cluster, with a coordinator.
	Leader    string `json:"leader,omitempty"`
	Failovers int    `json:"failovers_total"`
	// LookDuration is how long the last discovery took.
	LookDuration time.Duration `json:"look_duration_ns"`
	Servers      []ServerState `json:"servers"`
}

// ServerState is one server as the last discovery saw it.
type ServerState struct {
	Name       string `json:"name"`
	Up         bool   `json:"up"`
	Role       string `json:"role"`
	ReadOnly   bool   `json:"read_only"`
	Replica    bool   `json:"replica"`
	IORunning  bool   `json:"io_running"`
	SQLRunning bool   `json:"sql_running"`
	Lag        *int64 `json:"lag_seconds"`
	Heartbeats uint64 `json:"received_heartbeats"`
	Error      string `json:"error,omitempty"`
}

func serverStates(t *topology.Topology) []ServerState {
	var out []ServerState
	for _, n := range t.Nodes() {
		if n.Outside {
			continue
		}
		s := ServerState{Name: n.Name, Up: n.Reachable(), Role: string(n.Role), ReadOnly: n.ReadOnly, Lag: n.Lag}
		if n.Err != nil {
			s.Error = n.Err.Error()
		}
		if r := n.Replica; r != nil && n.Reachable() {
			s.Replica, s.IORunning, s.SQLRunning, s.Heartbeats = true, r.IORunning, r.SQLRunning, r.ReceivedHeartbeats
		}
		out = append(out, s)
	}
	return out
}

// Watcher watches one cluster: a discovery every Interval, the verdicts
// logged when they change, a failover on a dead or hung primary, then no
// second automatic failover within Block.
type Watcher struct {
	o   Options
	det Detector

	mu     sync.Mutex
	status Status
	// formerPrimary is the primary of the last failover: if it comes
	// back writable it is demoted.
	formerPrimary string
	// gated is the Gate's last refusal ("" when it let the watcher act).
	gated string
}

// New checks the options and returns a watcher.
func New(o Options) (*Watcher, error) {
	if o.Discover == nil || o.Failover == nil {
		return nil, errors.New("watch: Discover and Failover are required")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Block <= 0 {
		o.Block = DefaultBlock
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	w := &Watcher{o: o, det: Detector{HungAfter: o.HungAfter}}
	w.status.Cluster = o.Cluster
	return w, nil
}

// Run watches until ctx ends. A failover in progress then gets its
// context's end too: the playbook undoes what it had not made final, or
// reports where it stopped.
func (w *Watcher) Run(ctx context.Context) error {
	tick := time.NewTicker(w.o.Interval)
	defer tick.Stop()
	for {
		w.Look(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Look makes one discovery, logs what changed and acts on it. Run calls
// it every Interval; tests call it directly.
func (w *Watcher) Look(ctx context.Context) {
	ictx, cancel := context.WithTimeout(ctx, max(w.o.Interval*4, 2*time.Second))
	began := time.Now()
	top, err := w.o.Discover(ictx)
	took := time.Since(began)
	cancel()
	now := w.o.Now()
	if w.o.OnLook != nil {
		w.o.OnLook(took)
	}
	if err != nil {
		w.mu.Lock()
		changed := w.status.LookError != err.Error()
		w.status.LastLook, w.status.LookError = now, err.Error()
		w.mu.Unlock()
		if changed {
			w.logf("discovery failed: %v", err)
		}
		return
	}
	verdicts := w.det.Observe(now, top)
	w.mu.Lock()
	before := w.status.Verdicts
	w.status.Verdicts, w.status.LastLook, w.status.LookError = verdicts, now, ""
	w.status.LookDuration, w.status.Servers = took, serverStates(top)
	w.mu.Unlock()
	for _, c := range Changes(before, verdicts) {
		if c.Ended {
			w.logf("ended: %s", c.Verdict)
		} else {
			w.logf("%s", c.Verdict)
		}
	}
	for _, v := range verdicts {
		switch {
		case v.Kind.Actionable():
			w.act(ctx, Incident{Cluster: w.o.Cluster, Verdict: v, Topology: top, At: now})
		case v.Kind == SplitBrain:
			w.demoteFormer(ctx, top)
		}
	}
}

// gate asks Options.Gate whether this watcher may act, and logs a
// refusal that follows an action allowed (or the first).
func (w *Watcher) gate(ctx context.Context, what string) bool {
	if w.o.Gate == nil {
		return true
	}
	err := w.o.Gate(ctx)
	why := ""
	if err != nil {
		why = err.Error()
	}
	w.mu.Lock()
	changed := (why == "") != (w.gated == "") // logged when it starts refusing, not at each new reason
	w.gated = why
	w.mu.Unlock()
	if err != nil && changed {
		w.logf("NOT acting on %s: %v", what, err)
	}
	return err == nil
}

// act fails over, unless a failover of this cluster ran within Block.
func (w *Watcher) act(ctx context.Context, inc Incident) {
	if !w.gate(ctx, string(inc.Verdict.Kind)+" "+inc.Verdict.Server) {
		return
	}
	w.mu.Lock()
	if until := w.status.BlockedUntil; inc.At.Before(until) {
		reason := w.status.BlockReason
		first := w.status.Suppressed == nil || w.status.Suppressed.Verdict.key() != inc.Verdict.key() ||
			w.status.Suppressed.At.Before(until.Add(-w.o.Block))
		if first {
			w.status.Suppressed = &Record{Verdict: inc.Verdict, At: inc.At, Outcome: "blocked",
				Error: fmt.Sprintf("blocked until %s: %s", until.Format(time.RFC3339), reason)}
		}
		w.mu.Unlock()
		if first { // logged once per incident, not at every look
			w.logf("NOT failing over %s: a failover ran less than %s ago (blocked until %s after the %s); "+
				"clear the block to allow it", inc.Verdict.Server, w.o.Block, until.Format(time.RFC3339), reason)
		}
		return
	}
	w.status.Acting = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.status.Acting = false
		w.mu.Unlock()
	}()

	rec := &Record{Verdict: inc.Verdict, At: inc.At}
	start := w.o.Now()
	err := w.failover(ctx, inc, rec)
	rec.Duration = w.o.Now().Sub(start)
	switch {
	case err == nil:
		rec.Outcome = "done"
		w.logf("failover of %s done in %s", inc.Verdict.Server, rec.Duration.Round(time.Millisecond))
	case errors.Is(err, errRefused):
		rec.Outcome, rec.Error = "refused", err.Error()
		w.logf("NOT failing over %s: %v", inc.Verdict.Server, err)
	default:
		rec.Outcome, rec.Error = "failed", err.Error()
		w.logf("failover of %s FAILED after %s: %v", inc.Verdict.Server, rec.Duration.Round(time.Millisecond), err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.Last = rec
	if rec.Outcome == "refused" {
		return // nothing changed: the next look may act
	}
	// A failed failover blocks too: what it left wants a person, not a
	// second automatic attempt on a half-changed cluster.
	w.status.Failovers++
	w.formerPrimary = inc.Verdict.Server
	w.status.BlockedUntil = inc.At.Add(w.o.Block)
	w.status.BlockReason = fmt.Sprintf("failover of %s (%s) at %s: %s", inc.Verdict.Server, inc.Verdict.Kind,
		inc.At.Format(time.RFC3339), rec.Outcome)
}

var errRefused = errors.New("refused")

func (w *Watcher) failover(ctx context.Context, inc Incident, rec *Record) error {
	if inc.Verdict.Kind == HungPrimary && w.o.Fence == nil && w.o.FenceNone {
		w.logf("not fencing hung %s (--fence none): it must not come back writable", inc.Verdict.Server)
	} else if inc.Verdict.Kind == HungPrimary {
		if w.o.Fence == nil {
			return fmt.Errorf("%w: %s is hung and may wake up writable, and no machine can stop it "+
				"(give it a machine, or choose --fence none)", errRefused, inc.Verdict.Server)
		}
		p := inc.Topology.Node(inc.Verdict.Server)
		w.logf("fencing hung %s: stopping it through its machine", inc.Verdict.Server)
		if err := w.o.Fence(ctx, p); err != nil {
			return fmt.Errorf("%w: fencing %s failed, so it may still wake up writable: %v", errRefused,
				inc.Verdict.Server, err)
		}
		rec.Fenced, inc.Fenced = true, true
	}
	w.logf("failing over %s (%s)", inc.Verdict.Server, inc.Verdict.Kind)
	return w.o.Failover(ctx, inc)
}

// demoteFormer makes the primary of the last failover read-only again
// when it came back writable beside the new one.
func (w *Watcher) demoteFormer(ctx context.Context, top *topology.Topology) {
	w.mu.Lock()
	former := w.formerPrimary
	w.mu.Unlock()
	n := top.Node(former)
	if former == "" || n == nil || !n.Reachable() || n.ReadOnly {
		return
	}
	if w.o.Demote == nil {
		w.logf("%s, failed over before, is writable again: make it read-only (no demote configured)", former)
		return
	}
	if !w.gate(ctx, "the demotion of "+former) {
		return
	}
	if err := w.o.Demote(ctx, n); err != nil {
		w.logf("%s, failed over before, is writable again and could not be made read-only: %v", former, err)
		return
	}
	w.logf("%s, failed over before, came back writable: made read-only, its client sessions killed", former)
}

// Hold blocks automatic failovers, as a failover that just ran does,
// for reason: an earlier procedure on the cluster was killed halfway and
// what it left wants a person first. Clear lifts it.
func (w *Watcher) Hold(reason string) {
	w.mu.Lock()
	w.status.BlockedUntil = w.o.Now().Add(w.o.Block)
	w.status.BlockReason = reason
	w.mu.Unlock()
	w.logf("no automatic failover until cleared: %s", reason)
}

// BlockUntil blocks automatic failovers until the given time, unless a
// longer block holds already: a failover another watcher ran.
func (w *Watcher) BlockUntil(until time.Time, reason string) {
	w.mu.Lock()
	later := until.After(w.status.BlockedUntil)
	if later {
		w.status.BlockedUntil, w.status.BlockReason = until, reason
	}
	w.mu.Unlock()
	if later {
		w.logf("no automatic failover until %s: %s", until.UTC().Format(time.RFC3339), reason)
	}
}

// Clear lifts the block, so that the next dead primary is failed over.
func (w *Watcher) Clear() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.BlockedUntil, w.status.BlockReason = time.Time{}, ""
	w.logf("block cleared by the operator")
	if w.o.OnClear != nil {
		w.o.OnClear()
	}
}

// Status returns a copy of the watcher's state.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.status
	if w.o.Leader != nil {
		st.Leader = w.o.Leader()
	}
	st.Verdicts = append([]Verdict(nil), st.Verdicts...)
	st.Servers = append([]ServerState(nil), st.Servers...)
	for _, r := range []**Record{&st.Last, &st.Suppressed} {
		if *r != nil {
			c := **r
			*r = &c
		}
	}
	return st
}

func (w *Watcher) logf(format string, args ...any) {
	w.o.Log(w.prefix() + fmt.Sprintf(format, args...))
}

func (w *Watcher) prefix() string {
	if w.o.Cluster == "" {
		return ""
	}
	return w.o.Cluster + ": "
}
