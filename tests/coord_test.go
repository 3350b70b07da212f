package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/coord/etcdtest"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// coordinated wraps the sandbox's deployment: it names its cluster and
// keeps its lock in the test's etcd, with a short lease.
func coordinated(t testing.TB, sb *sandbox.Sandbox, ec *etcdtest.Cluster, ttl string) {
	t.Helper()
	coordinatedAs(t, sb, ec, ttl, "shop")
}

func coordinatedAs(t testing.TB, sb *sandbox.Sandbox, ec *etcdtest.Cluster, ttl, cluster string) {
	t.Helper()
	base := filepath.Join(filepath.Dir(sb.DeploymentPath), "uncoordinated-deployment.lua")
	if err := os.Rename(sb.DeploymentPath, base); err != nil {
		t.Fatal(err)
	}
	eps := `"` + strings.Join(ec.Endpoints(), `", "`) + `"`
	os.WriteFile(sb.DeploymentPath, []byte(fmt.Sprintf(`local d = dofile(%q)
d.cluster = %q
d.coordinator = { etcd = { endpoints = { %s }, prefix = "/t/", ttl = %q } }
return d
`, base, cluster, eps, ttl)), 0o600)
}

// startHolder runs a replicant-lua that takes the cluster's lock and
// keeps it, until the test kills it.
func startHolder(t *testing.T, sb *sandbox.Sandbox) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary(t), "-d", sb.DeploymentPath, "-e",
		`rep.lock(); print("locked"); io.stdout:flush(); rep.sleep("60s")`)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, "the holder's lock", func() bool { return strings.Contains(out.String(), "locked") })
	return cmd
}

func primaryName(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	out := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `return rep.discover():primary():name()`)
	if out.code != 0 {
		t.Fatalf("discover: %+v", out)
	}
	return strings.Trim(strings.TrimSpace(out.stdout), `"`)
}

// Two hosts, one lock: a switchover while another process holds the
// cluster's lock in etcd is refused, naming that process; once it dies,
// its lease expires within the TTL and the switchover runs. Without a
// quorum of etcd members no switchover starts; with them back, it does.
func TestCoordinatorLockKeepsTwoHostsApart(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{})
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	coordinated(t, sb, ec, "2s")

	holder := startHolder(t, sb)
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db2")
	want := fmt.Sprintf("held in etcd by -e (pid %d on ", holder.Process.Pid)
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, want) {
		t.Fatalf("switchover while another holds the lock: code %d, want %q in:\n%s%s", r.code, want, r.stdout, r.stderr)
	}
	if got := primaryName(t, sb); got != "db1" {
		t.Fatalf("the refused switchover moved the primary to %s", got)
	}
	holder.Process.Kill() // kill -9 of the other host's process
	killed := time.Now()
	for {
		r = run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db2")
		if r.code == 0 || time.Since(killed) > 10*time.Second {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if r.code != 0 || primaryName(t, sb) != "db2" {
		t.Fatalf("switchover after the holder died: %+v", r)
	}
	t.Logf("the dead holder's lock expired after %s (ttl 2s)", time.Since(killed).Round(100*time.Millisecond))

	ec.Members[1].Stop()
	ec.Members[2].Stop()
	r = run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db1")
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "etcd has no quorum") || primaryName(t, sb) != "db2" {
		t.Fatalf("switchover without a quorum: %+v", r)
	}
	for _, m := range ec.Members[1:] {
		if err := m.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range ec.Members {
		ec.WaitHealthy(m, 30*time.Second)
	}
	r = run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db1")
	if r.code != 0 || primaryName(t, sb) != "db1" {
		t.Fatalf("switchover with the quorum back: %+v", r)
	}
}

// The lease revoked in the middle of a switchover (from etcdctl, as an
// expiry would do): the next step finds the lock lost, and the
// switchover is undone before its point of no return.
func TestCoordinatorLeaseLostMidSwitchover(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{})
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	coordinated(t, sb, ec, "5s")
	play := filepath.Join(t.TempDir(), "paused.lua")
	os.WriteFile(play, []byte(`local rep = require "replicant"
require("replicant.switchover").run { to = "db2", on_step = function(name)
  if name:match("^wait for") then print("paused at " .. name); io.stdout:flush(); rep.sleep("3s") end
end }
`), 0o644)
	cmd := exec.Command(binary(t), "-d", sb.DeploymentPath, "run", play)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	waitFor(t, "the paused switchover", func() bool { return strings.Contains(out.String(), "paused at ") })
	leases, err := ec.Etcdctl("lease", "list")
	fields := strings.Fields(leases)
	if err != nil || len(fields) != 4 || fields[0] != "found" || fields[1] != "1" {
		t.Fatalf("etcdctl lease list: %v: %q", err, leases)
	}
	if o, err := ec.Etcdctl("lease", "revoke", fields[3]); err != nil {
		t.Fatalf("etcdctl lease revoke: %v: %s", err, o)
	}
	err = cmd.Wait()
	log := out.String()
	if err == nil || !strings.Contains(log, "the procedure lock in etcd was lost") {
		t.Fatalf("the switchover went on without its lock (%v):\n%s", err, log)
	}
	if !strings.Contains(log, "fence db1: read_only: done, then undone") ||
		!strings.Contains(log, "fence db1: FLUSH TABLES WITH READ LOCK: done, then undone") {
		t.Errorf("the report does not say what was undone:\n%s", log)
	}
	r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `local t = rep.discover()
return t:primary():name() .. " " .. rep.server("db1"):variable("read_only") .. " " .. rep.server("db2"):variable("read_only")`)
	if got := strings.Trim(strings.TrimSpace(r.stdout), `"`); r.code != 0 || got != "db1 0 1" {
		t.Fatalf("after the undone switchover: %q (%+v)\nswitchover's log:\n%s", got, r, log)
	}
}
