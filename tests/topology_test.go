package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

// topoSandbox starts a 3-server sandbox with a table written on db1 and
// applied by both replicas, so that every server has a GTID position.
func topoSandbox(t *testing.T) (*sandbox.Sandbox, map[string]*server.Server) {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	svs := map[string]*server.Server{}
	for _, in := range sb.Instances {
		svs[in.Name] = connect(t, sb, in)
	}
	execAll(t, svs["db1"], "CREATE DATABASE topo", "CREATE TABLE topo.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
		"INSERT INTO topo.t (v) VALUES (1)")
	caughtUp(t, svs, "db2", "db3")
	return sb, svs
}

func execAll(t *testing.T, sv *server.Server, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := sv.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// caughtUp waits until the named replicas have applied db1's GTIDs.
func caughtUp(t *testing.T, svs map[string]*server.Server, names ...string) {
	t.Helper()
	ctx := context.Background()
	pos, err := svs["db1"].GTIDExecuted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if ok, err := svs[n].WaitForGTID(ctx, pos, 30*time.Second); err != nil || !ok {
			t.Fatalf("%s did not reach %s: %v", n, pos, err)
		}
	}
}

// A healthy sandbox draws as a tree and passes the check.
func TestTopologyStatusAndCheck(t *testing.T) {
	sb, svs := topoSandbox(t)
	ctx := context.Background()
	fl, err := svs["db1"].Flavor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pos, _ := svs["db1"].GTIDExecuted(ctx)
	port := func(name string) int { in, _ := sb.Instance(name); return in.Port }
	want := fmt.Sprintf(`db1 127.0.0.1:%d [primary, writable] %s gtid %s
├─ db2 127.0.0.1:%d [replica, read-only, lag 0s] io Yes sql Yes
└─ db3 127.0.0.1:%d [replica, read-only, lag 0s] io Yes sql Yes
problems: none
`, port("db1"), fl, pos, port("db2"), port("db3"))
	for _, args := range [][]string{{"run", "status"}, {"run", "status", "--", "--from", "db2"}} {
		r := run(t, "", nil, append([]string{"-d", sb.DeploymentPath}, args...)...)
		if r.code != 0 || r.stdout != want {
			t.Errorf("%v: exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", args, r.code, r.stdout, want, r.stderr)
		}
		assertNoSecrets(t, sb, r.stdout, r.stderr)
	}
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "check")
	if r.code != 0 || r.stdout != "check: ok: primary db1, 2 replica(s), 0 warning(s)\n" {
		t.Errorf("check: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// checkProblems runs `run check` and returns "severity kind name" per
// problem line, sorted.
func checkProblems(t *testing.T, sb *sandbox.Sandbox) ([]string, result) {
	t.Helper()
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "check")
	line := regexp.MustCompile(`^(error|warning)\s+(\S+)\s+(\S+)\s`)
	var got []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			got = append(got, m[1]+" "+m[3]+" "+m[2])
		}
	}
	sort.Strings(got)
	assertNoSecrets(t, sb, r.stdout, r.stderr)
	return got, r
}

// Each breakage is found with its kind and server, and fails the check.
func TestCheckFindsProblems(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, svs map[string]*server.Server)
		want  []string
	}{
		// The tool's account holds READ_ONLY ADMIN: read_only does not stop
		// it, and the row gets GTID 0-2-N on db2 only.
		{"errant write on a replica", func(t *testing.T, svs map[string]*server.Server) {
			execAll(t, svs["db2"], "INSERT INTO topo.t (v) VALUES (2)")
		}, []string{"error errant_transactions db2"}},
		{"stopped SQL thread", func(t *testing.T, svs map[string]*server.Server) {
			execAll(t, svs["db3"], "STOP SLAVE SQL_THREAD")
		}, []string{"error sql_thread_stopped db3"}},
		{"writable replica", func(t *testing.T, svs map[string]*server.Server) {
			execAll(t, svs["db3"], "SET GLOBAL read_only = 0")
		}, []string{"error multiple_writable -", "error writable_replica db3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sb, svs := topoSandbox(t)
			c.setup(t, svs)
			got, r := checkProblems(t, sb)
			if r.code != 1 || strings.Join(got, "\n") != strings.Join(c.want, "\n") ||
				!strings.Contains(r.stderr, "check: ") {
				t.Errorf("exit %d, problems:\n%s\nwant:\n%s\nstdout:\n%s\nstderr:\n%s",
					r.code, strings.Join(got, "\n"), strings.Join(c.want, "\n"), r.stdout, r.stderr)
			}
		})
	}
}

// With db2's receiver stopped while db1 takes writes, db3 is ahead and
// ranks first; the Lua objects are the servers rep.server returns.
func TestCandidatesPreferCaughtUpReplica(t *testing.T) {
	sb, svs := topoSandbox(t)
	execAll(t, svs["db2"], "STOP SLAVE IO_THREAD")
	execAll(t, svs["db1"], "INSERT INTO topo.t (v) VALUES (2)", "INSERT INTO topo.t (v) VALUES (3)")
	caughtUp(t, svs, "db3")
	script := filepath.Join(t.TempDir(), "candidates.lua")
	src := `local rep = require "replicant"
local topo = rep.discover("db2")
assert(topo:primary() == rep.server("db1"), "primary")
for _, c in ipairs(topo:candidates()) do
  assert(c.server == rep.server(c.name), "server object of " .. c.name)
  print(c.name, c.rank, c.excluded, c.reasons[c.excluded and 1 or 3])
end
for _, p in ipairs(topo:problems()) do print(p.severity, p.kind, p.name, p.server == rep.server("db2")) end
local n = topo:node("db3")
print(n.role, n.read_only, n.log_replica_updates, n.lag, n.replica_status.sql_running,
  n.gtid_current_pos == rep.server("db1"):gtid_executed(), n.gtid_binlog_state, n.super_read_only)
print(pcall(function() topo.x = 1 end))
print(tostring(topo) == tostring(rep.discover()))
`
	if err := os.WriteFile(script, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	pos, _ := svs["db1"].GTIDExecuted(context.Background())
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", script)
	lines := strings.Split(r.stdout, "\n")
	if r.code != 0 || len(lines) < 6 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for i, want := range []string{
		// db2's receiver is stopped while the primary answers: it is not
		// following, so it is no candidate at all.
		"db3\t1\tfalse\tlog_slave_updates ON",
		"db2\tnil\ttrue\treplication is not running (io No, sql Yes)",
		"error\tio_thread_stopped\tdb2\ttrue",
		"replica\ttrue\ttrue\t0\ttrue\ttrue\t" + pos.String() + "\tnil",
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d: %q, want it to start with %q\nstdout:\n%s", i+1, lines[i], want, r.stdout)
		}
	}
	if !strings.Contains(lines[4], "false\t") || !strings.Contains(lines[4], "topology objects are read-only") ||
		lines[5] != "true" {
		t.Errorf("read-only / tostring lines:\n%s", r.stdout)
	}
}

// From one replica, the Go API finds the primary above it and the other
// replica through the primary's SHOW REPLICA HOSTS, reading all of them in
// parallel; with the primary killed, the primary is still db1, unreachable.
func TestDiscoverFromOneReplica(t *testing.T) {
	sb, svs := topoSandbox(t)
	ctx := context.Background()
	seed := svs["db3"]
	start := time.Now()
	top, err := topology.Discover(ctx, []*server.Server{seed}, topology.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("discovery of 3 servers from one seed: %s", time.Since(start))
	p := top.Primary()
	if p == nil || p.Port != sb.Primary().Port || p.Via != "source" || p.Role != topology.RolePrimary {
		t.Fatalf("primary %+v\n%s", p, top)
	}
	var ports []int
	for _, n := range top.Replicas() {
		ports = append(ports, n.Port)
		if n.Role != topology.RoleReplica || n.Replica == nil || !n.Replica.SQLRunning ||
			!n.Flavor.IsMariaDB() || n.GTIDStrictMode == nil || !*n.GTIDStrictMode {
			t.Errorf("replica %s: %+v", n.Name, n)
		}
	}
	in2, _ := sb.Instance("db2")
	in3, _ := sb.Instance("db3")
	if len(ports) != 2 || ports[0] != in2.Port && ports[1] != in2.Port || ports[0] != in3.Port && ports[1] != in3.Port {
		t.Errorf("replica ports %v, want %d and %d\n%s", ports, in2.Port, in3.Port, top)
	}
	if len(top.Problems()) != 0 {
		t.Errorf("problems:\n%s", top)
	}

	killPrimary(t, sb)
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "status")
	if r.code != 0 || !strings.HasPrefix(r.stdout, fmt.Sprintf("db1 127.0.0.1:%d [primary, unreachable] connect: ", sb.Primary().Port)) {
		t.Errorf("status after the kill: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	got, r := checkProblems(t, sb)
	if r.code != 1 || !strings.Contains(strings.Join(got, "\n"), "error unreachable db1") {
		t.Errorf("check after the kill: exit %d %v\nstdout:\n%s", r.code, got, r.stdout)
	}
}
