package watch

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

func TestMain(m *testing.M) { sandboxtest.Main(m) }

// A real primary, SIGSTOPped: the tool's sessions time out while the
// replicas' receivers still say "Yes" (until slave_net_timeout), and
// their heartbeat counts stop growing. The detector calls it unreachable
// first, then hung once the receivers have had nothing for two heartbeat
// periods (at least 2 s), never dead; SIGCONT brings it back to healthy,
// and kill -9 makes it dead.
//
// It runs twice: on a full discovery at each look, and on watch's
// Prober (refreshes between discoveries), which must judge the same.
func TestDetectorAgainstAStoppedPrimary(t *testing.T) {
	for _, prober := range []bool{false, true} {
		t.Run(map[bool]string{false: "discover", true: "prober"}[prober], func(t *testing.T) {
			detectorAgainstAStoppedPrimary(t, prober)
		})
	}
}

func detectorAgainstAStoppedPrimary(t *testing.T, prober bool) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	ctx := context.Background()
	seeds := sessions(t, sb, 300*time.Millisecond)
	// Heartbeats every 500 ms, as watch would set them up.
	for _, sv := range seeds[1:] {
		for _, q := range []string{"STOP SLAVE", "CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD = 0.5", "START SLAVE"} {
			if _, err := sv.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	discover := func() *topology.Topology {
		t.Helper()
		top, err := topology.Discover(ctx, seeds, topology.Options{ServerTimeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return top
	}
	look := discover
	if prober {
		pr := &Prober{Discover: func(ctx context.Context) (*topology.Topology, error) {
			return topology.Discover(ctx, seeds, topology.Options{ServerTimeout: 500 * time.Millisecond})
		}}
		t.Cleanup(func() { t.Logf("prober: %d full discoveries, %d refreshes", pr.Full, pr.Refreshed) })
		look = func() *topology.Topology {
			t.Helper()
			top, err := pr.Look(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return top
		}
	}
	var d Detector
	observe := func() Verdict { return primaryVerdict(t, d.Observe(time.Now(), look())) }
	if v := observe(); v.Kind != Healthy {
		t.Fatalf("before: %v", v)
	}
	db2 := sb.Instances[1]
	beats := func() uint64 {
		n := look().Node("127.0.0.1:" + strconv.Itoa(db2.Port))
		if n == nil || n.Replica == nil {
			for _, x := range discover().Nodes() {
				t.Logf("node %q %s replica %v err %v partial %v", x.Name, x.Address(), x.Replica != nil, x.Err, x.Partial)
			}
			t.Fatalf("db2 (port %d) is not a replica in the discovery", db2.Port)
		}
		return n.Replica.ReceivedHeartbeats
	}
	b0 := beats()
	time.Sleep(1200 * time.Millisecond)
	if b1 := beats(); b1 <= b0 {
		t.Fatalf("an idle primary sent no heartbeat in 1.2 s at a 0.5 s period: %d then %d", b0, b1)
	}

	pid := sb.Primary().Pid
	if cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); !strings.Contains(string(cmd), "mariadbd") {
		t.Fatalf("pid %d is not db1's server: %q", pid, cmd)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The signal is asynchronous: look only once the process is stopped.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if strings.Contains(string(b), ") T ") || time.Now().After(deadline) {
			break
		}
	}
	stopped := time.Now()
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	var seen []Kind
	var hung Verdict
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		v := observe()
		if len(seen) == 0 || seen[len(seen)-1] != v.Kind {
			seen = append(seen, v.Kind)
		}
		if v.Kind == DeadPrimary || v.Kind == Healthy {
			t.Fatalf("a stopped primary judged %v (verdicts so far %v)", v, seen)
		}
		if v.Kind == HungPrimary {
			hung = v
			break
		}
	}
	t.Logf("SIGSTOP: %v; hung after %s: %v", seen, time.Since(stopped).Round(time.Millisecond), hung)
	if hung.Kind != HungPrimary {
		t.Fatalf("no hung verdict within 15 s of SIGSTOP: %v", seen)
	}
	if since := time.Since(stopped); since < 2*time.Second {
		t.Errorf("hung after %s, before the receivers had stalled for 2 s", since)
	}

	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitVerdict(t, observe, Healthy, "SIGCONT")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitVerdict(t, observe, DeadPrimary, "kill -9")
}

func waitVerdict(t *testing.T, observe func() Verdict, want Kind, after string) {
	t.Helper()
	start := time.Now()
	var v Verdict
	for deadline := start.Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if v = observe(); v.Kind == want {
			t.Logf("%s: %s after %s", after, want, time.Since(start).Round(time.Millisecond))
			return
		}
	}
	t.Fatalf("%s: %v after 15 s, want %s", after, v, want)
}

// The Prober refreshes while nothing changes, and runs a full discovery
// at the look after a change of shape: the primary made read-only, a
// replica that stopped answering.
func TestProberDiscoversWhenTheShapeChanges(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	ctx := context.Background()
	seeds := sessions(t, sb, 300*time.Millisecond)
	pr := &Prober{FullEvery: 100, Discover: func(ctx context.Context) (*topology.Topology, error) {
		return topology.Discover(ctx, seeds, topology.Options{ServerTimeout: 500 * time.Millisecond})
	}}
	look := func(wantFull bool, what string) *topology.Topology {
		t.Helper()
		full := pr.Full
		top, err := pr.Look(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := pr.Full > full; got != wantFull {
			t.Fatalf("%s: full discovery %v, want %v", what, got, wantFull)
		}
		return top
	}
	look(true, "first look")
	top := look(false, "steady")
	if p := top.Primary(); p == nil || p.Name != seeds[0].Name() || len(top.Replicas()) != 2 {
		t.Fatalf("a refresh lost the shape: primary %v, %d replicas", p, len(top.Replicas()))
	}
	for _, r := range top.Replicas() {
		if r.Replica == nil || !r.Replica.IORunning || !r.Replica.SQLRunning {
			t.Fatalf("refreshed %s: replica status %+v", r.Name, r.Replica)
		}
	}
	if _, err := seeds[0].Exec(ctx, "SET GLOBAL read_only = 1"); err != nil {
		t.Fatal(err)
	}
	top = look(true, "primary made read-only")
	if !top.Node(seeds[0].Name()).ReadOnly {
		t.Fatal("the discovery after the change shows the primary writable")
	}
	look(false, "steady again")
	if err := syscall.Kill(sb.Instances[2].Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := seeds[2].Ping(ctx); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed replica still answers after 10 s")
		}
	}
	top = look(true, "a replica killed")
	if n := top.Node(seeds[2].Name()); n == nil || n.Reachable() {
		t.Fatalf("the killed replica: %+v", n)
	}
	look(false, "steady with a dead replica")
}

// sessions opens a session of the tool on every server of the sandbox,
// with the probes' short connect timeout, closed when the test ends.
func sessions(tb testing.TB, sb *sandbox.Sandbox, connect time.Duration) []*server.Server {
	var seeds []*server.Server
	for _, in := range sb.Instances {
		cfg, err := sb.ServerConfig(in)
		if err != nil {
			tb.Fatal(err)
		}
		cfg.ConnectTimeout = connect
		sv, err := server.New(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { sv.Close() })
		seeds = append(seeds, sv)
	}
	return seeds
}

// While full discoveries find the same cluster, the Prober spaces them
// further (FullEvery, then twice, three and four times that); a change
// found by a refresh brings the next full discovery at once and the
// spacing back to FullEvery.
func TestProberSpacesItsDiscoveriesWhileSteady(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	ctx := context.Background()
	seeds := sessions(t, sb, 300*time.Millisecond)
	pr := &Prober{FullEvery: 2, Discover: func(ctx context.Context) (*topology.Topology, error) {
		return topology.Discover(ctx, seeds, topology.Options{ServerTimeout: 500 * time.Millisecond})
	}}
	looks := func(n int) string {
		t.Helper()
		var b strings.Builder
		for i := 0; i < n; i++ {
			full := pr.Full
			if _, err := pr.Look(ctx); err != nil {
				t.Fatalf("look %d: %v", i+1, err)
			}
			if pr.Full > full {
				b.WriteByte('F')
			} else {
				b.WriteByte('R')
			}
		}
		return b.String()
	}
	// F: a full discovery, R: a refresh.
	if got, want := looks(29), "FRF"+"RRRF"+"RRRRRF"+"RRRRRRRF"+"RRRRRRRF"; got != want {
		t.Fatalf("steady: looks %s\nwant        %s", got, want)
	}
	if _, err := seeds[1].Exec(ctx, "SET GLOBAL read_only = 0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seeds[1].Exec(context.Background(), "SET GLOBAL read_only = 1") })
	if got, want := looks(4), "FRFR"; got != want {
		t.Fatalf("after a replica was made writable: looks %s, want %s", got, want)
	}
}
