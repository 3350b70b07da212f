package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// startRun starts the binary without waiting; the test ends it.
func startRun(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder, *strings.Builder) {
	return startRunEnv(t, nil, args...)
}

func startRunEnv(t *testing.T, env []string, args ...string) (*exec.Cmd, *strings.Builder, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &stdout, &stderr
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// variable reads a global variable. A fence kills the test's own sessions
// too, so one retry on a fresh connection is expected.
func variable(t *testing.T, sv *server.Server, name string) any {
	v, err := sv.Variable(context.Background(), name)
	if err != nil {
		v, err = sv.Variable(context.Background(), name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Two procedures on one cluster: the second is refused while the first
// holds the lock, and may run once it has ended.
func TestTwoProceduresAtOnce(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	db2 := connect(t, sb, sb.Replicas()[0])
	first, _, _ := startRun(t, "-d", sb.DeploymentPath, "-e", `replicant.lock(); replicant.sleep("60s")`)
	waitFor(t, "the first procedure's lock", func() bool {
		row, err := db2.QueryRow(context.Background(), "SELECT IS_USED_LOCK('replicant-lua.procedure') AS id")
		return err == nil && row["id"] != nil
	})
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db2")
	if r.code != 1 || !strings.Contains(r.stderr, "another procedure is running on this cluster") {
		t.Errorf("second procedure: exit %d, stderr %q", r.code, r.stderr)
	}
	if v := variable(t, connect(t, sb, sb.Primary()), "read_only"); v != int64(0) {
		t.Errorf("db1 read_only = %v after a refused switchover", v)
	}
	first.Process.Signal(syscall.SIGINT)
	first.Wait()
	r = run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db2")
	if r.code != 0 {
		t.Errorf("after the first ended: exit %d, stderr %q", r.code, r.stderr)
	}
}

// SIGINT in the middle of a switchover undoes the fence: the old primary
// takes writes again and the candidate still replicates from it.
func TestInterruptedSwitchoverIsUndone(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	db1 := connect(t, sb, sb.Primary())
	mark := filepath.Join(t.TempDir(), "fenced")
	cmd, _, stderr := startRunEnv(t, []string{"FENCED_MARK=" + mark}, "-d", sb.DeploymentPath, "-e", `
require("replicant.switchover").run { to = "db2", before_promote = function()
  io.open(os.getenv("FENCED_MARK"), "w"):close()
  replicant.sleep("60s")
end }`)
	waitFor(t, "the fence", func() bool { _, err := os.Stat(mark); return err == nil })
	if v := variable(t, db1, "read_only"); v != int64(1) {
		t.Errorf("db1 read_only = %v while fenced", v)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if code := exitCode(cmd.Wait()); code != 1 {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"interrupted by interrupt",
		"fence db1: read_only: done, then undone", "fence db1: FLUSH TABLES WITH READ LOCK: done, then undone"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if v := variable(t, db1, "read_only"); v != int64(0) {
		t.Errorf("db1 read_only = %v after the undo", v)
	}
	// The app user writes again on db1 (FTWRL released), and db2 gets it.
	w := startWriter(t, sb)
	w.waitAcked(t, 20)
	res := w.finish(t, 0)
	if res.acked == 0 || res.lost != 0 {
		t.Errorf("writer after the undo: %+v", res)
	}
	r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `require("replicant.test").topology_is("db1", {"db2", "db3"})`)
	if r.code != 0 {
		t.Errorf("topology after the undo: %s", r.stderr)
	}
}

var blockedRe = regexp.MustCompile(`writes blocked for ([\d.]+) ms`)

// A switchover under a continuous writer loses and duplicates nothing.
func TestSwitchoverUnderWriter(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	w := startWriter(t, sb)
	w.waitAcked(t, 50)
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db2")
	if r.code == 0 {
		w.waitAcked(t, 50) // on the new primary
	}
	res := w.finish(t, 1)
	if r.code != 0 {
		t.Fatalf("switchover: exit %d: %s", r.code, r.stderr)
	}
	if res.lost != 0 || res.dupes != 0 || res.acked == 0 {
		t.Errorf("writer: %d acknowledged, %d lost %v, %d duplicated", res.acked, res.lost, res.missing, res.dupes)
	}
	t.Logf("writer: %d rows, largest gap %s; procedure: %s", res.acked, res.maxGap, strings.TrimSpace(r.stdout))
}

// An admin session (it bypasses read_only) writing through the switchover
// is killed by the fence; what it wrote before is on the new primary, and
// the old primary carries no errant transaction afterwards.
func TestSwitchoverKillsAdminWriter(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	db1 := connect(t, sb, sb.Primary())
	ctx := context.Background()
	if _, err := db1.Exec(ctx, "CREATE TABLE mysql.admin_probe (id INT AUTO_INCREMENT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	admin := connect(t, sb, sb.Primary()) // a second session of the tool's (admin) user
	admin2, err := server.New(admin.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer admin2.Close()
	stop := make(chan struct{})
	acked := make(chan int, 1)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				acked <- n
				return
			default:
			}
			if _, err := admin2.Exec(ctx, "INSERT INTO mysql.admin_probe VALUES ()"); err != nil {
				acked <- n // killed by the fence: an admin tool would stop here
				<-stop
				return
			}
			n++
		}
	}()
	time.Sleep(200 * time.Millisecond)
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db2")
	close(stop)
	n := <-acked
	if r.code != 0 {
		t.Fatalf("switchover: exit %d: %s", r.code, r.stderr)
	}
	check := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `
local expect = require "replicant.test"
expect.topology_is("db2", {"db1", "db3"})
print(replicant.server("db2"):query_row("SELECT COUNT(*) AS n FROM mysql.admin_probe").n)`)
	// The fence may kill the admin session after its last INSERT committed
	// but before the answer arrived: one row more than acknowledged is fine.
	rows, _ := strconv.Atoi(strings.TrimSpace(check.stdout))
	if check.code != 0 || rows < n || rows > n+1 {
		t.Errorf("after: exit %d, rows on db2 %q, admin acknowledged %d\n%s", check.code, check.stdout, n, check.stderr)
	}
}

// The old primary dies before each step of a switchover. Before the
// promotion, nothing is promoted and the report says what could not be
// undone on the dead server; from the promotion on, the candidate takes
// over, the other replicas follow it, and the report says how to finish.
func TestSwitchoverPrimaryKilledAtEachStep(t *testing.T) {
	steps := []struct {
		prefix   string
		promoted bool
	}{
		{"fence db1: read_only", false},
		{"fence db1: kill sessions", false},
		{"fence db1: FLUSH TABLES", false},
		{"wait for db2", true},
		{"make db2 writable", true},
		{"stop replication on db2", true},
		{"repoint db3", true},
		{"make db1 a replica", true},
	}
	for _, st := range steps {
		t.Run(st.prefix, func(t *testing.T) {
			sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
			r := run(t, "", []string{"DB1_PID=" + strconv.Itoa(sb.Primary().Pid), "KILL_AT=" + st.prefix},
				"-d", sb.DeploymentPath, "-e", `
require("replicant.switchover").run { to = "db2", on_step = function(name)
  if name:sub(1, #os.getenv("KILL_AT")) == os.getenv("KILL_AT") then
    replicant.shell("kill -9 " .. os.getenv("DB1_PID"))
    replicant.sleep("200ms")
  end
end }`)
			if r.code != 1 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			check := `local rep = require "replicant"
local db2, db3 = rep.server("db2"), rep.server("db3")
print(db2:variable("read_only"))
local st = db3:replica_status()
print(rep.server(st.source_host .. ":" .. st.source_port):name())`
			c := run(t, "", nil, "-d", sb.DeploymentPath, "-e", check)
			want, report := "1\ndb1\n", "procedure steps:"
			if st.promoted {
				want, report = "0\ndb2\n", "To finish the job: db2 is the new primary"
			}
			if c.stdout != want || !strings.Contains(r.stderr, report) {
				t.Errorf("after: %q (want %q), stderr:\n%s", c.stdout, want, r.stderr)
			}
		})
	}
}
