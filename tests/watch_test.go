package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// watcher is a `replicant-lua watch` process of a test, with its HTTP
// port, stopped by SIGTERM (then its pid) at the end of the test.
type watcher struct {
	t      testing.TB
	cmd    *exec.Cmd
	done   chan error
	stderr *lockedBuffer
	addr   string
	token  string
	// tokenFile holds token, for watch --clear.
	tokenFile string
}

func startWatch(t testing.TB, sb *sandbox.Sandbox, args ...string) *watcher {
	t.Helper()
	return startWatchOn(t, sb.DeploymentPath, args...)
}

// startWatchOn is startWatch on a deployment file of the test's own.
func startWatchOn(t testing.TB, deployment string, args ...string) *watcher {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	token := "t0ken-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	all := append([]string{"-d", deployment, "watch", "--interval", "250ms", "--http", addr,
		"--http-token-file", tokenFile}, args...)
	w := &watcher{t: t, cmd: exec.Command(binary(t), all...), done: make(chan error, 1), stderr: &lockedBuffer{},
		addr: addr, token: token, tokenFile: tokenFile}
	w.cmd.Stdout, w.cmd.Stderr = io.Discard, w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			w.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-w.done:
			case <-time.After(10 * time.Second):
				w.cmd.Process.Kill()
			}
		}
		if t.Failed() {
			t.Logf("watch's log:\n%s", w.stderr)
		}
	})
	waitFor(t, "watch's first look", func() bool { return strings.Contains(w.stderr.String(), deployment+": ") })
	return w
}

// status is /status's first cluster.
type watchStatus struct {
	Failovers int `json:"failovers_total"`
	Last      *struct {
		Outcome string `json:"outcome"`
		Fenced  bool   `json:"fenced"`
		Error   string `json:"error"`
		Verdict struct {
			Kind   string `json:"Kind"`
			Server string `json:"Server"`
		} `json:"verdict"`
	} `json:"last_incident"`
	Suppressed *struct {
		Outcome string `json:"outcome"`
	} `json:"suppressed"`
	BlockReason string `json:"block_reason"`
}

func (w *watcher) status() watchStatus {
	w.t.Helper()
	resp, err := http.Get("http://" + w.addr + "/status")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Clusters []watchStatus }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Clusters) != 1 {
		w.t.Fatalf("/status: %v (%d clusters)", err, len(out.Clusters))
	}
	return out.Clusters[0]
}

func (w *watcher) get(path string) string {
	w.t.Helper()
	resp, err := http.Get("http://" + w.addr + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// stop ends watch with SIGTERM and returns its exit code.
func (w *watcher) stop() int {
	w.t.Helper()
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		w.t.Fatal("watch did not stop within 10 s of SIGTERM")
	}
	return w.cmd.ProcessState.ExitCode()
}

func (w *watcher) count(sub string) int { return strings.Count(w.stderr.String(), sub) }

// clear lifts watch's block the way an operator does: POST /clear with
// the bearer token.
func (w *watcher) clear() {
	w.t.Helper()
	req, _ := http.NewRequest("POST", "http://"+w.addr+"/clear", nil)
	req.Header.Set("Authorization", "Bearer "+w.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		w.t.Fatalf("POST /clear: %s", resp.Status)
	}
}

func signalPid(t testing.TB, pid int, sig syscall.Signal) {
	t.Helper()
	cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if !strings.Contains(string(cmd), "mariadbd") {
		t.Fatalf("pid %d is not a server of the sandbox: %q", pid, cmd)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatal(err)
	}
}

// kill -9 of the primary under a writer: watch judges it dead, fails
// over once, the writer resumes on the new primary with no acknowledged
// write lost; a second failure within the block is reported, not failed
// over, until POST /clear (with the token).
func TestWatchFailsOverAKilledPrimary(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	w := startWatch(t, sb)
	wr := startWriter(t, sb)
	wr.waitAcked(t, 50)
	killed := time.Now()
	signalPid(t, sb.Primary().Pid, syscall.SIGKILL)
	waitFor(t, "watch's failover", func() bool { st := w.status(); return st.Last != nil && st.Last.Outcome == "done" })
	t.Logf("kill -9 → failover done: %s", time.Since(killed).Round(time.Millisecond))
	wr.waitAcked(t, 50)
	st := w.status()
	if st.Failovers != 1 || st.Last.Verdict.Kind != "dead_primary" || st.Last.Verdict.Server != "db1" {
		t.Errorf("status: %+v", st)
	}
	if n := w.count(": dead_primary db1:") - w.count("ended: dead_primary db1:"); n != 1 {
		t.Errorf("the verdict logged %d times, want once", n)
	}
	metrics := w.get("/metrics")
	for _, want := range []string{"replicant_watch_failovers_total{cluster=", "} 1\n", `replicant_server_up{cluster="` + sb.DeploymentPath + `",server="db1"} 0`,
		"replicant_watch_probe_seconds_bucket"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Which server was promoted: the one the writer now writes to.
	out := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `local t = rep.discover(); return t:primary():name()`)
	newPrimary := strings.Trim(strings.TrimSpace(out.stdout), `"`)
	if out.code != 0 || (newPrimary != "db2" && newPrimary != "db3") {
		t.Fatalf("new primary: %+v", out)
	}
	idx, _ := strconv.Atoi(newPrimary[2:])
	res := wr.finish(t, idx-1)
	// Asynchronous replication loses what the replicas had not received
	// at the kill: counted, not asserted (semi-synchronous replication is
	// what makes it none).
	t.Logf("writer: %d acknowledged, %d lost at the kill (async), %d duplicated", res.acked, res.lost, res.dupes)
	if res.dupes != 0 {
		t.Errorf("writer: %d duplicated rows", res.dupes)
	}
	in, _ := sb.Instance(newPrimary)
	signalPid(t, in.Pid, syscall.SIGKILL)
	waitFor(t, "the blocked incident", func() bool { st := w.status(); return st.Suppressed != nil })
	time.Sleep(time.Second)
	if st := w.status(); st.Failovers != 1 || w.count("NOT failing over "+newPrimary) != 1 {
		t.Errorf("within the block: %d failovers, %d refusals logged", st.Failovers, w.count("NOT failing over "+newPrimary))
	}
	// POST /clear needs the token.
	resp, err := http.Post("http://"+w.addr+"/clear", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || w.status().Failovers != 1 {
		t.Errorf("clear without the token: %s", resp.Status)
	}
	w.clear()
	waitFor(t, "the failover after clear", func() bool { return w.status().Failovers == 2 })
	if code := w.stop(); code != 0 {
		t.Errorf("watch exited %d after SIGTERM", code)
	}
}

// A primary SIGSTOPped: hung, not dead. watch stops it through its
// machine (SIGKILL) before the failover, so it cannot wake up writable.
// A stall of 500 ms is not a failure.
func TestWatchFencesAHungPrimary(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	w := startWatch(t, sb)
	pid := sb.Primary().Pid
	signalPid(t, pid, syscall.SIGSTOP)
	time.Sleep(500 * time.Millisecond)
	signalPid(t, pid, syscall.SIGCONT)
	time.Sleep(3 * time.Second) // twelve looks after the stall
	if st := w.status(); st.Failovers != 0 || w.count("failing over") != 0 {
		t.Fatalf("a 500 ms stall was failed over: %+v", st)
	}
	stopped := time.Now()
	signalPid(t, pid, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	waitFor(t, "watch's failover", func() bool { st := w.status(); return st.Last != nil && st.Last.Outcome == "done" })
	t.Logf("SIGSTOP → failover done: %s", time.Since(stopped).Round(time.Millisecond))
	st := w.status()
	if st.Last.Verdict.Kind != "hung_primary" || !st.Last.Fenced || w.count("fencing hung db1") != 1 {
		t.Errorf("status: %+v", st)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(b), ") Z ") {
			t.Errorf("db1's process %d still exists after the fence: %s", pid, b)
		}
	}
}

// --fence none fails a hung primary over without stopping it; when it
// wakes up writable (SIGCONT), watch makes it read-only within a look.
func TestWatchDemotesAPrimaryThatComesBack(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	w := startWatch(t, sb, "--fence", "none")
	pid := sb.Primary().Pid
	signalPid(t, pid, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	waitFor(t, "watch's failover", func() bool { st := w.status(); return st.Last != nil && st.Last.Outcome == "done" })
	signalPid(t, pid, syscall.SIGCONT)
	waitFor(t, "db1 demoted", func() bool { return w.count("db1, failed over before, came back writable") == 1 })
	out := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `return rep.server("db1"):variable("read_only")`)
	if out.code != 0 || strings.TrimSpace(out.stdout) != "1" {
		t.Errorf("db1 read_only after the demotion: %+v", out)
	}
}

// A switchover killed halfway (kill -9 of the tool) leaves a run with no
// end in the audit trail: watch started on that trail holds its
// failovers until the operator clears it, and a cleared run does not
// hold the next start.
func TestWatchHoldsAfterAnUnfinishedRun(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.jsonl")
	play := filepath.Join(dir, "stuck.lua")
	os.WriteFile(play, []byte(`local rep = require "replicant"
require("replicant.switchover").run { to = "db2", on_step = function(name)
  if name:match("^wait for") then print("stuck at " .. name); io.stdout:flush(); rep.sleep("60s") end
end }
`), 0o644)
	cmd := exec.Command(binary(t), "-d", sb.DeploymentPath, "--audit", audit, "run", play)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the switchover to get stuck", func() bool { return strings.Contains(out.String(), "stuck at") })
	cmd.Process.Kill()
	cmd.Wait()

	w := startWatch(t, sb, "--audit", audit)
	waitFor(t, "the hold", func() bool { return w.count("no automatic failover until cleared: run ") == 1 })
	if st := w.status(); !strings.Contains(st.BlockReason, "has no end in the audit trail") ||
		!strings.Contains(st.BlockReason, `its last step was "fence db1: FLUSH TABLES WITH READ LOCK" (done)`) {
		t.Errorf("block reason: %q", st.BlockReason)
	}
	signalPid(t, sb.Primary().Pid, syscall.SIGKILL)
	waitFor(t, "the suppressed incident", func() bool { return w.status().Suppressed != nil })
	if st := w.status(); st.Failovers != 0 {
		t.Fatalf("failed over while held: %+v", st)
	}
	w.clear()
	waitFor(t, "the failover after clear", func() bool { st := w.status(); return st.Last != nil && st.Last.Outcome != "" })
	w.stop()
	again := startWatch(t, sb, "--audit", audit)
	time.Sleep(500 * time.Millisecond)
	if n := again.count("no automatic failover until cleared"); n != 0 {
		t.Errorf("a cleared run held the next start:\n%s", again.stderr)
	}
}
