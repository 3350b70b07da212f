package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// TestInterruptedPromotionKeepsOneWritable interrupts a switchover while
// SET GLOBAL read_only = OFF is in flight to the candidate: db2 is
// SIGSTOPped just before the step (its kernel still accepts the
// statement), the run gets SIGINT, and db2 resumes a second later and may
// then apply the statement. The undo must not unfence db1 while db2 may be
// writable: afterwards at most one of them takes writes, and the report
// says how to finish.
func TestInterruptedPromotionKeepsOneWritable(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	db2 := sb.Instances[1]
	t.Cleanup(func() { _ = syscall.Kill(db2.Pid, syscall.SIGCONT) })
	mark := filepath.Join(t.TempDir(), "stopped")
	cmd, _, stderr := startRunEnv(t, []string{"DB2_PID=" + strconv.Itoa(db2.Pid), "MARK=" + mark},
		"-d", sb.DeploymentPath, "-e", `
require("replicant.switchover").run { to = "db2", on_step = function(name)
  if name == "make db2 writable" then
    replicant.shell("kill -STOP " .. os.getenv("DB2_PID") .. " && touch " .. os.getenv("MARK"))
  end
end }`)
	waitFor(t, "db2 to be stopped at the promotion", func() bool { _, err := os.Stat(mark); return err == nil })
	time.Sleep(300 * time.Millisecond) // the statement is on its way to db2
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := syscall.Kill(db2.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(cmd.Wait()); code != 1 {
		t.Errorf("exit %d\n%s", code, stderr.String())
	}
	// db2 answers again within the undo's deadline: the promotion step's
	// check settles it (no statement of ours can land any more) and reads
	// its read_only; either way the undo ends with db2 read-only and db1
	// unfenced.
	if !regexp.MustCompile(`make db2 writable: FAILED: .*its check found it took (effect; undone|no effect)`).
		MatchString(stderr.String()) {
		t.Errorf("the report does not give the promotion's checked outcome:\n%s", stderr.String())
	}
	// Give a statement left in db2's socket buffer time to land, then
	// count the writable servers.
	c1, c2 := connect(t, sb, sb.Instances[0]), connect(t, sb, db2)
	time.Sleep(500 * time.Millisecond)
	ro1, ro2 := variable(t, c1, "read_only"), variable(t, c2, "read_only")
	if ro1 != int64(0) || ro2 != int64(1) {
		t.Fatalf("after the interrupted promotion db1 read_only=%v, db2 read_only=%v: want db1 writable again "+
			"and db2 read-only\n%s", ro1, ro2, stderr.String())
	}
}

// TestPromotionToAHungCandidateStaysFenced: the candidate stops at its
// promotion and does not resume while the switchover undoes: its outcome
// cannot be checked, so it counts as done, its undo fails, and db1 must
// stay fenced (db2 may apply SET GLOBAL read_only = OFF when it resumes).
// After db2 resumes, at most one server takes writes.
func TestPromotionToAHungCandidateStaysFenced(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	db2 := sb.Instances[1]
	t.Cleanup(func() { _ = syscall.Kill(db2.Pid, syscall.SIGCONT) })
	cmd, _, stderr := startRunEnv(t, []string{"DB2_PID=" + strconv.Itoa(db2.Pid)},
		"-d", sb.DeploymentPath, "-e", `
replicant.deadlines { read = "2s", change = "2s" }
require("replicant.switchover").run { to = "db2", on_step = function(name)
  if name == "make db2 writable" then replicant.shell("kill -STOP " .. os.getenv("DB2_PID")) end
end }`)
	code := exitCode(cmd.Wait())
	if err := syscall.Kill(db2.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if code != 1 {
		t.Errorf("exit %d\n%s", code, stderr.String())
	}
	for _, want := range []string{"make db2 writable: FAILED", "its check failed", "so it counts as done; UNDO FAILED",
		"db1 stays read-only: the promotion of db2 was interrupted"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, stderr.String())
		}
	}
	c1, c2 := connect(t, sb, sb.Instances[0]), connect(t, sb, db2)
	time.Sleep(500 * time.Millisecond) // a statement left in db2's socket buffer lands now
	ro1, ro2 := variable(t, c1, "read_only"), variable(t, c2, "read_only")
	if ro1 != int64(1) {
		t.Errorf("db1 read_only=%v: it was unfenced while db2 could still become writable\n%s", ro1, stderr.String())
	}
	t.Logf("after: db1 read_only=%v, db2 read_only=%v", ro1, ro2)
}

// TestFailoverRefusesHungPrimary: a primary that hangs (SIGSTOP) answers
// nobody, but its replicas' receivers stay connected (the TCP connections
// are open until slave_net_timeout). It is not dead: failing over would
// leave it writable when it resumes. The failover refuses, within its
// deadlines, and nothing changes.
func TestFailoverRefusesHungPrimary(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	stopServer(t, sb.Primary())
	r := run(t, "", nil, "-d", sb.DeploymentPath, "--timeout", "2m", "run", "failover", "--", "--confirm-timeout", "1s")
	if r.code != 1 || !strings.Contains(r.stderr, "failover: refused: db1 is not dead") ||
		!strings.Contains(r.stderr, "is connected to it") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if err := syscall.Kill(sb.Primary().Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	c := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `require("replicant.test").topology_is("db1", { "db2", "db3" })`)
	if c.code != 0 {
		t.Errorf("after SIGCONT: %s", c.stderr)
	}
}
