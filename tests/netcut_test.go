package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/harness"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// startFaultProxy puts a harness.Proxy in front of target for the
// test's duration.
func startFaultProxy(t testing.TB, target string) *harness.Proxy {
	t.Helper()
	p, err := harness.StartProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// proxiedDeployment writes a copy of the sandbox's deployment in which
// the tool reaches each named server through a fault proxy while the
// replicas keep replicating at its real address (replication_host and
// replication_port), as a tool on an admin network would.
func proxiedDeployment(t *testing.T, sb *sandbox.Sandbox, names ...string) (string, map[string]*harness.Proxy) {
	t.Helper()
	src, err := os.ReadFile(sb.DeploymentPath)
	if err != nil {
		t.Fatal(err)
	}
	dep := string(src)
	proxies := map[string]*harness.Proxy{}
	for _, name := range names {
		in, ok := sb.Instance(name)
		if !ok {
			t.Fatalf("no %s in the sandbox", name)
		}
		p := startFaultProxy(t, in.Addr())
		proxies[name] = p
		entry := regexp.MustCompile(`(?m)^(\s*` + name + ` = \{ host = "127\.0\.0\.1", port = )` + strconv.Itoa(in.Port) + `\b`)
		if !entry.MatchString(dep) {
			t.Fatalf("%s's entry not found in:\n%s", name, dep)
		}
		dep = entry.ReplaceAllString(dep, fmt.Sprintf(`${1}%d, replication_host = "127.0.0.1", replication_port = %d`, p.Port(), in.Port))
	}
	path := filepath.Join(filepath.Dir(sb.DeploymentPath), "proxied.lua")
	if err := os.WriteFile(path, []byte(dep), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, proxies
}

// looks is how many discoveries watch has made (its probe histogram's
// count), so that a test waits for looks rather than for time.
func (w *watcher) looks() int {
	w.t.Helper()
	m := regexp.MustCompile(`(?m)^replicant_watch_probe_seconds_count\{[^}]*\} (\d+)$`).FindStringSubmatch(w.get("/metrics"))
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// waitLooks waits until watch has looked n more times.
func (w *watcher) waitLooks(t testing.TB, n int) {
	t.Helper()
	want := w.looks() + n
	waitFor(t, fmt.Sprintf("%d looks", n), func() bool { return w.looks() >= want })
}

// primaryOf asks the sandbox's own deployment (real addresses) which
// server is the primary and whether it takes writes.
func primaryOf(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	out := run(t, "", nil, "-d", sb.DeploymentPath, "-e",
		`local p = rep.discover():primary(); return p:name() .. " read_only=" .. p:variable("read_only")`)
	if out.code != 0 {
		t.Fatalf("discover: %+v", out)
	}
	return strings.Trim(strings.TrimSpace(out.stdout), `"`)
}

// The tool's own path to the primary is cut (a blackhole between watch
// and db1) while the replicas keep replicating from it: watch says
// unreachable_primary, with the replicas' receivers as evidence, and
// fails nothing over; db1 stays the writable primary and the writer loses
// nothing. When the path heals, the verdict is healthy again, once.
func TestWatchToolCutFromThePrimary(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	dep, proxies := proxiedDeployment(t, sb, "db1")
	w := startWatchOn(t, dep)
	wr := startWriter(t, sb)
	wr.waitAcked(t, 50)
	w.waitLooks(t, 2)
	if w.count(dep+": healthy db1:") != 1 {
		t.Fatalf("before the cut, want healthy db1 logged once")
	}
	proxies["db1"].Cut()
	waitFor(t, "unreachable_primary", func() bool { return w.count(dep+": unreachable_primary db1:") > 0 })
	line := logLine(w, dep+": unreachable_primary db1:")
	for _, want := range []string{"the receiver of", "db2", "db3", "received from it"} {
		if !strings.Contains(line, want) {
			t.Errorf("the verdict lacks %q: %s", want, line)
		}
	}
	w.waitLooks(t, 12) // 3 s at 250 ms
	wr.waitAcked(t, 50)
	st := w.status()
	if st.Failovers != 0 || st.Last != nil || w.count("failing over") != 0 || w.count("hung_primary") != 0 {
		t.Errorf("a cut path was failed over: %+v\n%s", st, w.stderr)
	}
	if got := primaryOf(t, sb); got != "db1 read_only=0" {
		t.Errorf("during the cut the primary is %q, want db1 read_only=0", got)
	}
	// Through the cut path, a discovery from db2 alone follows its source
	// to db1 at the tool's address (unreachable: db3, which only db1
	// lists, stays unseen), never to the replication address; and the
	// failover procedure refuses.
	out := run(t, "", nil, "-d", dep, "-e", `
local t = rep.discover("db2", { timeout = "1s" })
local v = t:verdict()
return v.state .. " " .. v.name .. " " .. #t:nodes() .. " " .. #v.connected`)
	if got := strings.Trim(strings.TrimSpace(out.stdout), `"`); out.code != 0 || got != "unreachable db1 2 1" {
		t.Errorf("discover from db2 during the cut: %q (%s), want unreachable db1 2 1", got, out.stderr)
	}
	r := run(t, "", nil, "-d", dep, "--timeout", "1m", "run", "failover", "--", "--dead", "db1")
	if r.code != 1 || !strings.Contains(r.stderr, "the receiver of db2 and db3 is connected") {
		t.Errorf("failover during the cut: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	proxies["db1"].Heal()
	waitFor(t, "healthy again", func() bool { return w.count(dep+": healthy db1:") == 2 })
	w.waitLooks(t, 4)
	if n, h := w.count(dep+": unreachable_primary db1:"), w.count(dep+": healthy db1:"); n != 1 || h != 2 {
		t.Errorf("logged unreachable_primary %d times, healthy %d times; want 1 and 2", n, h)
	}
	res := wr.finish(t, 0)
	t.Logf("writer: %d acknowledged, %d errors, largest gap %s", res.acked, res.errors, res.maxGap.Round(time.Millisecond))
	if res.lost != 0 || res.dupes != 0 {
		t.Errorf("writer: %d lost %v, %d duplicated", res.lost, res.missing, res.dupes)
	}
	if st := w.status(); st.Failovers != 0 {
		t.Errorf("failovers after the heal: %d", st.Failovers)
	}
}

// A replica killed (kill -9): watch says dead_replica db3 once and
// promotes nothing; db1 stays the primary.
func TestWatchDeadReplica(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	w := startWatch(t, sb)
	in, _ := sb.Instance("db3")
	signalPid(t, in.Pid, syscall.SIGKILL)
	waitFor(t, "dead_replica", func() bool { return w.count(sb.DeploymentPath+": dead_replica db3:") > 0 })
	w.waitLooks(t, 12)
	st := w.status()
	if n := w.count(sb.DeploymentPath + ": dead_replica db3:"); n != 1 || st.Failovers != 0 || st.Last != nil ||
		w.count("failing over") != 0 {
		t.Errorf("dead_replica logged %d times; status %+v\n%s", n, st, w.stderr)
	}
	if w.count(sb.DeploymentPath+": healthy db1:") != 1 || w.count("ended: healthy") != 0 {
		t.Errorf("the primary's verdict changed:\n%s", w.stderr)
	}
	out := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `return rep.discover():primary():name()`)
	if got := strings.Trim(strings.TrimSpace(out.stdout), `"`); out.code != 0 || got != "db1" {
		t.Errorf("primary after db3's death: %+v", out)
	}
}

// A switchover in a deployment whose servers the tool reaches through
// proxies points every replica at the replication addresses, never at
// the tool's: the replicas keep replicating when the tool's path goes.
func TestSwitchoverUsesReplicationAddresses(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	dep, _ := proxiedDeployment(t, sb, "db1", "db2", "db3")
	r := run(t, "", nil, "-d", dep, "--timeout", "1m", "run", "switchover", "--", "--to", "db2")
	if r.code != 0 {
		t.Fatalf("switchover: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	db2, _ := sb.Instance("db2")
	out := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `
local out = {}
for _, name in ipairs({ "db1", "db3" }) do
  local st = rep.server(name):replica_status()
  table.insert(out, name .. "=" .. st.source_host .. ":" .. st.source_port .. ":" .. tostring(st.io_running))
end
return table.concat(out, " ")`)
	want := fmt.Sprintf("db1=127.0.0.1:%d:true db3=127.0.0.1:%d:true", db2.Port, db2.Port)
	if got := strings.Trim(strings.TrimSpace(out.stdout), `"`); out.code != 0 || got != want {
		t.Errorf("after the switchover: %q (%s), want %q", got, out.stderr, want)
	}

	// And a failover: db2 killed, the survivor left a replica follows the
	// new primary at its replication address.
	signalPid(t, db2.Pid, syscall.SIGKILL)
	waitFor(t, "the receivers to lose db2", func() bool {
		out := run(t, "", nil, "-d", sb.DeploymentPath, "-e",
			`return tostring(rep.server("db1"):replica_status().io_running or rep.server("db3"):replica_status().io_running)`)
		return strings.Contains(out.stdout, "false")
	})
	r = run(t, "", nil, "-d", dep, "--timeout", "1m", "run", "failover", "--", "--dead", "db2")
	if r.code != 0 {
		t.Fatalf("failover: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	out = run(t, "", nil, "-d", sb.DeploymentPath, "-e", `
local p = rep.discover({ "db1", "db3" }):primary():name()
local r = p == "db1" and "db3" or "db1"
local st = rep.server(r):replica_status()
return p .. " " .. r .. "=" .. st.source_host .. ":" .. st.source_port .. ":" .. tostring(st.io_running)`)
	got := strings.Trim(strings.TrimSpace(out.stdout), `"`)
	ok := false
	for _, np := range []string{"db1", "db3"} {
		in, _ := sb.Instance(np)
		other := map[string]string{"db1": "db3", "db3": "db1"}[np]
		ok = ok || got == fmt.Sprintf("%s %s=127.0.0.1:%d:true", np, other, in.Port)
	}
	if out.code != 0 || !ok {
		t.Errorf("after the failover: %q (%s); want the replica at the new primary's real port", got, out.stderr)
	}
}

// logLine is the first line of watch's log that contains sub.
func logLine(w *watcher, sub string) string {
	for _, l := range strings.Split(w.stderr.String(), "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
