package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/coord/etcdtest"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// leaderOf is what a watcher's /status says of the cluster's leader.
func leaderOf(w *watcher) string {
	var out struct {
		Clusters []struct {
			Leader string `json:"leader"`
		}
	}
	json.Unmarshal([]byte(w.get("/status")), &out)
	if len(out.Clusters) != 1 {
		return ""
	}
	return out.Clusters[0].Leader
}

// twoWatchers starts two coordinated watchers, each with its own audit
// trail, and returns the leader first.
func twoWatchers(t *testing.T, sb *sandbox.Sandbox) (leader, standby *watcher) {
	t.Helper()
	dir := t.TempDir()
	a := startWatch(t, sb, "--audit", filepath.Join(dir, "a.jsonl"))
	b := startWatch(t, sb, "--audit", filepath.Join(dir, "b.jsonl"))
	waitFor(t, "a leader", func() bool {
		return strings.HasPrefix(leaderOf(a), "this watcher leads") || strings.HasPrefix(leaderOf(b), "this watcher leads")
	})
	if strings.HasPrefix(leaderOf(b), "this watcher leads") {
		a, b = b, a
	}
	waitFor(t, "the standby to see the leader", func() bool { return strings.HasPrefix(leaderOf(b), "standby; the leader is watch") })
	return a, b
}

func lastFailover(t *testing.T, ec *etcdtest.Cluster) map[string]any {
	t.Helper()
	out, err := ec.Etcdctl("get", "--print-value-only", "/t/clusters/shop/last_failover")
	if err != nil {
		t.Fatalf("etcdctl get: %v: %s", err, out)
	}
	var rec map[string]any
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatalf("last_failover %q: %v", out, err)
		}
	}
	return rec
}

// Two watchers on one cluster, kill -9 of the primary: exactly one
// failover, by the leader, recorded in etcd; the standby acted on
// nothing. The leader killed next: the standby takes over and honours
// the block the dead leader's failover set.
func TestTwoWatchersOneFailover(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{})
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	coordinated(t, sb, ec, "2s")
	leader, standby := twoWatchers(t, sb)

	signalPid(t, sb.Primary().Pid, syscall.SIGKILL)
	waitFor(t, "the failover", func() bool { st := leader.status(); return st.Last != nil && st.Last.Outcome == "done" })
	time.Sleep(time.Second)
	if l, s := leader.status(), standby.status(); l.Failovers != 1 || s.Failovers != 0 || s.Last != nil {
		t.Fatalf("failovers: leader %d, standby %d (%+v)", l.Failovers, s.Failovers, s.Last)
	}
	if n := standby.count("failing over"); n != 0 {
		t.Errorf("the standby logged %d failovers", n)
	}
	rec := lastFailover(t, ec)
	if rec["outcome"] != "done" || rec["from"] != "db1" || rec["verdict"] != "dead_primary" {
		t.Errorf("etcd's record: %v", rec)
	}
	// Nothing secret in etcd: every key and value under the prefix.
	dump, err := ec.Etcdctl("get", "--prefix", "/t/")
	if err != nil || !strings.Contains(dump, "/t/clusters/shop/last_failover") {
		t.Fatalf("etcdctl get --prefix: %v: %s", err, dump)
	}
	for _, c := range []sandbox.Credential{sb.User, sb.ReplUser, sb.AppUser} {
		if pw, err := c.Password(); err != nil || pw == "" || strings.Contains(dump, pw) {
			t.Errorf("%s's password is in etcd (or unreadable: %v)", c.Name, err)
		}
	}
	for _, w := range []*watcher{leader, standby} {
		if strings.Contains(w.stderr.String(), "t0ken-") || strings.Contains(dump, "t0ken-") {
			t.Errorf("a token in the log or in etcd")
		}
	}
	newPrimary := primaryName(t, sb)

	leader.cmd.Process.Kill()
	<-leader.done
	waitFor(t, "the standby to lead", func() bool { return strings.HasPrefix(leaderOf(standby), "this watcher leads") })
	in, _ := sb.Instance(newPrimary)
	signalPid(t, in.Pid, syscall.SIGKILL)
	waitFor(t, "the block", func() bool { return standby.status().Suppressed != nil })
	if st := standby.status(); st.Failovers != 0 || !strings.Contains(st.BlockReason, "the failover of db1 (dead_primary)") {
		t.Errorf("the new leader did not honour the block: %+v", st)
	}
}

// The leader SIGSTOPped past its lease, the primary killed meanwhile:
// the standby takes over and fails over; the old leader, resumed, finds
// from etcd that it leads no more and does nothing.
func TestAPausedLeaderDoesNotActWhenResumed(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{})
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	coordinated(t, sb, ec, "2s")
	leader, standby := twoWatchers(t, sb)

	leader.cmd.Process.Signal(syscall.SIGSTOP)
	t.Cleanup(func() { leader.cmd.Process.Signal(syscall.SIGCONT) })
	paused := time.Now()
	signalPid(t, sb.Primary().Pid, syscall.SIGKILL)
	waitFor(t, "the standby's failover", func() bool { st := standby.status(); return st.Last != nil && st.Last.Outcome == "done" })
	t.Logf("leader paused, primary killed → the standby's failover done after %s (ttl 2s)", time.Since(paused).Round(10*time.Millisecond))
	leader.cmd.Process.Signal(syscall.SIGCONT)
	waitFor(t, "the resumed leader to step down", func() bool { return strings.HasPrefix(leaderOf(leader), "standby; ") })
	time.Sleep(time.Second)
	if st := leader.status(); st.Failovers != 0 || leader.count("failing over")-leader.count("NOT failing over") != 0 {
		t.Fatalf("the resumed leader acted: %+v\n%s", st, leader.stderr)
	}
	if st := standby.status(); st.Failovers != 1 {
		t.Errorf("standby: %+v", st)
	}
}

// Without etcd's quorum nobody acts, and both say so; with it back, the
// leader fails the dead primary over.
func TestNoQuorumNoFailover(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{})
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	coordinated(t, sb, ec, "2s")
	a, b := twoWatchers(t, sb)

	ec.Members[1].Stop()
	ec.Members[2].Stop()
	for _, w := range []*watcher{a, b} {
		waitFor(t, "no quorum reported", func() bool { return strings.HasPrefix(leaderOf(w), "no quorum: not acting") })
	}
	signalPid(t, sb.Primary().Pid, syscall.SIGKILL)
	waitFor(t, "the dead primary seen", func() bool { return a.count("dead_primary db1") > 0 && b.count("dead_primary db1") > 0 })
	time.Sleep(2 * time.Second)
	if a.status().Failovers+b.status().Failovers != 0 || a.count("NOT acting on dead_primary db1") != 1 {
		t.Fatalf("acted without a quorum:\n%s\n---\n%s", a.stderr, b.stderr)
	}
	for _, m := range ec.Members[1:] {
		if err := m.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a failover with the quorum back", func() bool { return a.status().Failovers+b.status().Failovers == 1 })
	if rec := lastFailover(t, ec); rec["outcome"] != "done" {
		t.Errorf("etcd's record: %v", rec)
	}
}

// The leader killed in the middle of its failover leaves etcd's record
// "running": the standby that takes over holds instead of failing over
// again on a half-changed cluster.
func TestStandbyHoldsAfterTheLeaderDiedMidFailover(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{})
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	coordinated(t, sb, ec, "2s")
	play := filepath.Join(t.TempDir(), "slow.lua")
	os.WriteFile(play, []byte(`local rep = require "replicant"
require("replicant.failover").run { dead = incident.server, confirm_timeout = 0,
  before_promote = function(ctx) print("about to promote " .. ctx.primary:name()); rep.sleep("60s") end }
`), 0o644)
	a := startWatch(t, sb, "--playbook", play)
	b := startWatch(t, sb, "--playbook", play)
	waitFor(t, "a leader", func() bool {
		return strings.HasPrefix(leaderOf(a), "this watcher leads") || strings.HasPrefix(leaderOf(b), "this watcher leads")
	})
	leader, standby := a, b
	if strings.HasPrefix(leaderOf(b), "this watcher leads") {
		leader, standby = b, a
	}
	signalPid(t, sb.Primary().Pid, syscall.SIGKILL)
	waitFor(t, "the leader's failover to reach the promotion", func() bool { return leader.count("about to promote ") == 1 })
	if rec := lastFailover(t, ec); rec["outcome"] != "running" {
		t.Fatalf("etcd's record during the failover: %v", rec)
	}
	// An operator's switchover meanwhile is refused, naming the watcher.
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db2")
	want := fmt.Sprintf("held in etcd by watch: failover (pid %d on ", leader.cmd.Process.Pid)
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, want) {
		t.Errorf("switchover during the watcher's failover: code %d, want %q in:\n%s%s", r.code, want, r.stdout, r.stderr)
	}
	leader.cmd.Process.Kill()
	<-leader.done
	waitFor(t, "the standby's hold", func() bool {
		return strings.Contains(standby.status().BlockReason, "has no end in etcd: that watcher stopped in the middle")
	})
	time.Sleep(time.Second)
	if st := standby.status(); st.Failovers != 0 || standby.count("about to promote") != 0 {
		t.Fatalf("the standby failed over again: %+v", st)
	}
}

// Two watchers of the same two clusters end up leading one each: the
// first to start leads both, then hands one over.
func TestLeadershipSpreadsOverTheWatchers(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{})
	shop := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	billing := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	coordinatedAs(t, shop, ec, "2s", "shop")
	coordinatedAs(t, billing, ec, "2s", "billing")
	leading := func(w *watcher) int {
		var out struct {
			Clusters []struct {
				Leader string `json:"leader"`
			}
		}
		json.Unmarshal([]byte(w.get("/status")), &out)
		n := 0
		for _, c := range out.Clusters {
			if strings.HasPrefix(c.Leader, "this watcher leads") {
				n++
			}
		}
		return n
	}
	a := startWatch(t, shop, "-d", billing.DeploymentPath)
	waitFor(t, "the first watcher to lead both", func() bool { return leading(a) == 2 })
	b := startWatch(t, shop, "-d", billing.DeploymentPath)
	waitFor(t, "one leadership each", func() bool { return leading(a) == 1 && leading(b) == 1 })
	if a.count("handed a cluster's leadership over") != 1 || b.count("handed a cluster's leadership over") != 0 {
		t.Errorf("handovers: a %d, b %d", a.count("handed a cluster's leadership over"), b.count("handed a cluster's leadership over"))
	}
	time.Sleep(4 * time.Second) // a balance round more: nothing moves
	if leading(a) != 1 || leading(b) != 1 {
		t.Errorf("leaderships moved again: a %d, b %d", leading(a), leading(b))
	}
}

// The leading watcher killed (kill -9: no resign), then the primary: the
// standby leads once the dead leader's lease expires, fails over, and
// only its audit trail has a failover run.
func TestStandbyFailsOverAfterTheLeaderDied(t *testing.T) {
	ec := etcdtest.Start(t, etcdtest.Options{})
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	coordinated(t, sb, ec, "2s")
	dir := t.TempDir()
	a := startWatch(t, sb, "--audit", filepath.Join(dir, "a.jsonl"))
	waitFor(t, "a leads", func() bool { return strings.HasPrefix(leaderOf(a), "this watcher leads") })
	b := startWatch(t, sb, "--audit", filepath.Join(dir, "b.jsonl"))
	waitFor(t, "b stands by", func() bool { return strings.HasPrefix(leaderOf(b), "standby; ") })

	a.cmd.Process.Kill()
	<-a.done
	killed := time.Now()
	signalPid(t, sb.Primary().Pid, syscall.SIGKILL)
	waitFor(t, "the standby's failover", func() bool { st := b.status(); return st.Last != nil && st.Last.Outcome == "done" })
	t.Logf("leader and primary killed → the standby's failover done after %s (ttl 2s)", time.Since(killed).Round(10*time.Millisecond))
	if st := b.status(); st.Failovers != 1 {
		t.Errorf("standby: %+v", st)
	}
	runs := func(file string) int {
		b, _ := os.ReadFile(file)
		return strings.Count(string(b), `"type":"run_start"`)
	}
	if ra, rb := runs(filepath.Join(dir, "a.jsonl")), runs(filepath.Join(dir, "b.jsonl")); ra != 0 || rb != 1 {
		t.Errorf("failover runs in the audit trails: dead leader %d, standby %d; want 0 and 1", ra, rb)
	}
	if rec := lastFailover(t, ec); rec["outcome"] != "done" {
		t.Errorf("etcd's record: %v", rec)
	}
}
