package tests

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// A failed imbue leaves binary logging on: the master role turns
// sql_log_bin off for its account statements, and a failing one (an
// account name the server refuses) must not leave the shared session
// without it. The next INSERT on the same server object gets a GTID and
// reaches the replica.
func TestFailedImbueKeepsBinlog(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	svs := map[string]*server.Server{"db1": connect(t, sb, sb.Primary()), "db2": connect(t, sb, sb.Replicas()[0])}
	execAll(t, svs["db1"], "CREATE DATABASE imb", "CREATE TABLE imb.t (id INT PRIMARY KEY)")
	r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `
local db1 = replicant.server("db1")
local ok, err = pcall(db1.imbue, db1, replicant.roles.master{ repl_user = { name = string.rep("u", 200), password = "pw" } })
assert(not ok, "the imbue should fail")
print("imbue failed: " .. tostring(err))
db1:exec("INSERT INTO imb.t VALUES (7)")
print("sql_log_bin " .. tostring(db1:query_row("SELECT @@SESSION.sql_log_bin AS b").b))`)
	if r.code != 0 || !strings.Contains(r.stdout, "imbue failed: ") || !strings.Contains(r.stdout, "sql_log_bin 1") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	caughtUp(t, svs, "db2")
	row, err := svs["db2"].QueryRow(context.Background(), "SELECT COUNT(*) AS n FROM imb.t WHERE id = 7")
	if err != nil || row["n"] != int64(1) {
		t.Errorf("the INSERT after the failed imbue did not reach db2: %v %v", row, err)
	}
}

// stopServer SIGSTOPs a sandbox server by pid and SIGCONTs it when the
// test ends. A stopped mariadbd still completes TCP handshakes (the
// kernel accepts on its listening socket) but never greets or answers.
func stopServer(t *testing.T, in sandbox.Instance) {
	t.Helper()
	if err := syscall.Kill(in.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(in.Pid, syscall.SIGCONT) })
	// kill returns before every thread has stopped: wait until the kernel
	// says the process is stopped (state T), or a statement sent at once
	// may still be answered.
	waitFor(t, "the server to stop", func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(in.Pid) + "/stat")
		if err != nil {
			return false
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		return len(f) > 0 && f[0] == "T"
	})
}

// A hung server fails a connection within the connect timeout and a
// statement within its deadline, never hangs. The outer context is only
// a safety net: the error must be the deadline's, not its.
func TestHungServerDeadlines(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	in := sb.Primary()
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Name: "db1", Host: "127.0.0.1", Port: in.Port, User: sb.User.Name, Password: server.Secret(pw),
		ConnectTimeout: time.Second}
	open := func() *server.Server {
		sv, err := server.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sv.Close() })
		// Longer than the connect timeout, so that a statement that has to
		// connect first fails on the connect deadline.
		sv.SetDeadlines(server.Deadlines{Read: 3 * time.Second, Change: 3 * time.Second})
		return sv
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	connected := open()
	if err := connected.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	stopServer(t, in)
	for _, c := range []struct {
		name, kind string
		do         func() error
	}{
		{"statement on the open session", "read", func() error { _, err := connected.Query(ctx, "SELECT 1"); return err }},
		{"new connection", "connect", func() error { _, err := open().Query(ctx, "SELECT 1"); return err }},
		{"change on a new session", "connect", func() error {
			_, err := open().Exec(ctx, "SET SESSION lock_wait_timeout = 5")
			return err
		}},
	} {
		err := c.do()
		var de *server.DeadlineError
		if !errors.As(err, &de) || de.Kind != c.kind || ctx.Err() != nil {
			t.Errorf("%s on a stopped server: %v; want the %s deadline's error", c.name, err, c.kind)
		}
		if err != nil && !strings.Contains(err.Error(), "db1") {
			t.Errorf("%s: the error does not name the server: %v", c.name, err)
		}
	}
}

// A primary that hangs (SIGSTOP) in the middle of a switchover's fence:
// the FLUSH TABLES WITH READ LOCK gets no answer, the procedure fails
// within its statement deadline and undoes, and does not wait for ever.
// Once the primary runs again it is writable and unlocked.
func TestSwitchoverHungPrimary(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	dir := t.TempDir()
	mark, goOn := filepath.Join(dir, "at-ftwrl"), filepath.Join(dir, "go-on")
	cmd, _, stderr := startRunEnv(t, []string{"MARK=" + mark, "GO_ON=" + goOn}, "-d", sb.DeploymentPath,
		"--timeout", "2m", "-e", `
replicant.deadlines{ read = "2s", change = "2s" }
require("replicant.switchover").run { to = "db2", on_step = function(name)
  if name:find("FLUSH TABLES WITH READ LOCK", 1, true) then
    io.open(os.getenv("MARK"), "w"):close()
    while not io.open(os.getenv("GO_ON")) do replicant.sleep("20ms") end
  end
end }`)
	waitFor(t, "the switchover to reach its FLUSH TABLES WITH READ LOCK", func() bool {
		_, err := os.Stat(mark)
		return err == nil
	})
	stopServer(t, sb.Primary())
	if err := os.WriteFile(goOn, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code := exitCode(cmd.Wait())
	out := stderr.String()
	// The lock's own session cannot even connect (connect deadline); the
	// undo's SET GLOBAL read_only on the open session gets no answer
	// (statement deadline).
	if code != 1 || !strings.Contains(out, "fence db1: FLUSH TABLES WITH READ LOCK: FAILED") ||
		!strings.Contains(out, "lock_tables: timed out (no answer within 5s (the connect deadline)") ||
		!strings.Contains(out, "set_read_only: timed out (no answer within 2s (the statement deadline)") {
		t.Errorf("exit %d; want the FTWRL to fail on its deadline\nstderr:\n%s", code, out)
	}
	if strings.Contains(out, "timeout") && strings.Contains(out, "2m") {
		t.Errorf("the run ended on --timeout, not on the statement deadline:\n%s", out)
	}
	if err := syscall.Kill(sb.Primary().Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// What the tool sent before giving up reaches the server once it runs
	// again; the lock's connection is gone, so the lock with it.
	db1 := connect(t, sb, sb.Primary())
	waitFor(t, "db1 writable again", func() bool {
		v, err := db1.Variable(context.Background(), "read_only")
		return err == nil && v == int64(0)
	})
	w := startWriter(t, sb)
	w.waitAcked(t, 5)
	if res := w.finish(t, 0); res.acked == 0 || res.lost != 0 {
		t.Errorf("writer on db1 after SIGCONT: %+v", res)
	}
}

// rep.log formats as string.format does.
func TestLogFormats(t *testing.T) {
	r := run(t, "", nil, "-e", `replicant.log.info("lag %.1f s, %d rows, %5s|, %q", 1.25, 42, "ab", "x\"y")
replicant.log.warn("plain %% text")
replicant.log.info("%s and %s", nil, true)`)
	for _, want := range []string{`info  lag 1.2 s, 42 rows,    ab|, "x\"y"`, "warn  plain %% text", "info  nil and true"} {
		if r.code != 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("exit %d; stderr lacks %q:\n%s", r.code, want, r.stderr)
		}
	}
}

// db:with_session puts the session's variables back when the block
// raises, and a session lost inside the block gets them again.
func TestWithSessionRestores(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `
local db1 = replicant.server("db1")
local function lw() return db1:query_row("SELECT @@SESSION.lock_wait_timeout AS v").v end
local before = lw()
local ok, err = pcall(db1.with_session, db1, { lock_wait_timeout = 7 }, function()
  assert(lw() == 7, "not set")
  db1:close() -- the session is lost: the next one gets the value again
  assert(lw() == 7, "not set again on the new session")
  error("boom")
end)
assert(not ok and tostring(err):find("boom"), tostring(err))
print("restored", lw() == before)`)
	if r.code != 0 || !strings.Contains(r.stdout, "restored\ttrue") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// lock_tables holds FLUSH TABLES WITH READ LOCK on a session of its own:
// writers wait, a fence's kill_connections does not end it, unlock
// releases it. It waits behind another lock no longer than lock_wait.
func TestLockTablesOwnSession(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	ctx := context.Background()
	db1, blocker := connect(t, sb, sb.Primary()), connect(t, sb, sb.Primary())
	execAll(t, db1, "CREATE DATABASE lk", "CREATE TABLE lk.t (id INT PRIMARY KEY)")
	if err := blocker.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := db1.ClientConnections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db1.LockTables(ctx, server.LockOptions{}); err != nil {
		t.Fatal(err)
	}
	if during, err := db1.ClientConnections(ctx); err != nil || len(during) != len(before) {
		t.Errorf("sessions a fence would kill: %d before the lock, %d with it (%v); the lock's own must not be one",
			len(before), len(during), err)
	}
	if _, err := blocker.Exec(ctx, "SET SESSION lock_wait_timeout = 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec(ctx, "INSERT INTO lk.t VALUES (1)"); err == nil || !strings.Contains(err.Error(), "1205") {
		t.Errorf("a write under the read lock: %v; want a lock wait timeout (1205)", err)
	}
	if err := db1.UnlockTables(ctx); err != nil {
		t.Fatal(err)
	}
	execAll(t, blocker, "INSERT INTO lk.t VALUES (2)")

	execAll(t, blocker, "LOCK TABLES lk.t WRITE")
	err = db1.LockTables(ctx, server.LockOptions{LockWait: time.Second})
	var se *server.Error
	if !errors.As(err, &se) || se.Code != 1205 {
		t.Errorf("lock_tables behind a LOCK TABLES: %v; want error 1205 after lock_wait", err)
	}
	execAll(t, blocker, "UNLOCK TABLES")
}
