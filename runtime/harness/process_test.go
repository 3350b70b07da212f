package harness

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// The process and configuration faults on one sandbox, each observed,
// then undone by Undo and the undo observed.
func TestProcessFaults(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	ctx := testCtx(t)
	f := New(sb)
	defer f.Close()
	db2, _ := sb.Instance("db2")
	var errs []error

	t.Run("pause", func(t *testing.T) {
		if err := f.Pause("db2"); err != nil {
			t.Fatal(err)
		}
		if err := answers(t, sb, "db2", db2.Port, 300*time.Millisecond); err == nil {
			t.Errorf("a paused db2 answered a ping")
		}
		if err := f.Undo(ctx); err != nil {
			t.Fatal(err)
		}
		if err := answers(t, sb, "db2", db2.Port, 5*time.Second); err != nil {
			t.Errorf("after Undo db2 does not answer: %v", err)
		}
		if err := f.Undo(ctx); err != nil {
			t.Errorf("a second Undo: %v", err)
		}
	})

	t.Run("max_connections", func(t *testing.T) {
		db := direct(t, sb, "db1")
		old := variable(t, db, "max_connections")
		if err := f.MaxConnections(ctx, "db1", 20); err != nil {
			t.Fatal(err)
		}
		if err := f.MaxConnections(ctx, "db1", 25); err != nil {
			t.Fatal(err)
		}
		if got := variable(t, db, "max_connections"); got != "25" {
			t.Errorf("max_connections %s, want 25", got)
		}
		if err := f.Undo(ctx); err != nil {
			t.Fatal(err)
		}
		if got := variable(t, db, "max_connections"); got != old {
			t.Errorf("after Undo max_connections %s, want %s as before the first change", got, old)
		}
	})

	t.Run("wrong_password", func(t *testing.T) {
		before, err := os.ReadFile(sb.DeploymentPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.WrongPassword("db2"); err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(sb.DeploymentPath)
		want := `db2 = { host = "127.0.0.1", user = { name = "replicant", password = "not-the-password" }, port = ` + strconv.Itoa(db2.Port)
		if !strings.Contains(string(after), want) || strings.Contains(string(after), `db1 = { host = "127.0.0.1", user`) {
			t.Fatalf("the deployment lacks %q for db2 alone:\n%s", want, after)
		}
		cfg, _ := sb.ServerConfig(db2)
		cfg.Password = server.Secret("not-the-password")
		db, err := server.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Ping(ctx); !server.AuthFailed(err) {
			t.Errorf("a login with the deployment's password for db2: %v, want an authentication failure", err)
		}
		if err := f.Undo(ctx); err != nil {
			t.Fatal(err)
		}
		if restored, _ := os.ReadFile(sb.DeploymentPath); string(restored) != string(before) {
			t.Errorf("after Undo the deployment is:\n%s\nwant:\n%s", restored, before)
		}
	})

	t.Run("kill and restart", func(t *testing.T) {
		old := f.Pid("db2")
		if err := f.Pause("db2"); err != nil {
			t.Fatal(err)
		}
		if err := f.Kill(ctx, "db2"); err != nil {
			t.Fatal(err)
		}
		if !refused(db2.Addr()) || f.Pid("db2") != 0 {
			t.Fatalf("after Kill: port refused %v, pid %d", refused(db2.Addr()), f.Pid("db2"))
		}
		if err := f.Kill(ctx, "db2"); err == nil || !strings.Contains(err.Error(), "kill db2: ") {
			t.Errorf("killing a dead server: %v, want an error naming db2", err)
		}
		// Killed servers stay dead, and their pause is not undone on
		// whatever process has the pid now.
		if err := f.Undo(ctx); err != nil {
			t.Errorf("Undo after a kill: %v", err)
		}
		if !refused(db2.Addr()) {
			t.Errorf("Undo brought a killed server back")
		}
		if err := f.Restart(ctx, "db2"); err != nil {
			t.Fatal(err)
		}
		pid := f.Pid("db2")
		if pid == 0 || pid == old {
			t.Errorf("pid after the restart %d, before %d", pid, old)
		}
		if in, _ := sb.Instance("db2"); in.Pid != pid {
			t.Errorf("the sandbox records pid %d, the injector %d", in.Pid, pid)
		}
		if err := answers(t, sb, "db2", db2.Port, 5*time.Second); err != nil {
			t.Errorf("after Restart db2 does not answer: %v", err)
		}
		// And a running server restarts with a new pid.
		if err := f.Restart(ctx, "db2"); err != nil {
			t.Fatal(err)
		}
		again := f.Pid("db2")
		if again == 0 || again == pid {
			t.Errorf("pid after a second restart %d, before %d", again, pid)
		}
		// A paused server is resumed before its restart, which would
		// otherwise wait out the stop's grace period.
		if err := f.Pause("db2"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := f.Restart(ctx, "db2"); err != nil {
			t.Fatal(err)
		}
		t.Logf("restart of a paused server: %s", time.Since(start).Round(time.Millisecond))
		if err := answers(t, sb, "db2", db2.Port, 5*time.Second); err != nil || f.Pid("db2") == again {
			t.Errorf("after restarting a paused db2: %v, pid %d (was %d)", err, f.Pid("db2"), again)
		}
		if err := f.Undo(ctx); err != nil {
			t.Errorf("Undo after restarting a paused server: %v", err)
		}
	})

	// A fault in the middle of an undo: db2, lagging and paused, is
	// killed behind the injector's back (as a playbook's fence would):
	// its pause has nothing left to resume and is no error, putting back
	// its delay fails; the undo of db1's max_connections still runs, and
	// the error names the fault and the server.
	t.Run("undo goes on after a failure", func(t *testing.T) {
		db := direct(t, sb, "db1")
		old := variable(t, db, "max_connections")
		if err := f.MaxConnections(ctx, "db1", 30); err != nil {
			t.Fatal(err)
		}
		if err := f.Lag(ctx, "db2", 5); err != nil {
			t.Fatal(err)
		}
		if err := f.Pause("db2"); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(f.Pid("db2"), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		in2, _ := sb.Instance("db2")
		deadline := time.Now().Add(10 * time.Second)
		for !refused(in2.Addr()) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		err := f.Undo(ctx)
		if err == nil || !strings.Contains(err.Error(), "undo lag db2: ") || strings.Contains(err.Error(), "pause") {
			t.Errorf("Undo: %v, want an error naming the lag of db2 alone", err)
		}
		errs = append(errs, err)
		if got := variable(t, db, "max_connections"); got != old {
			t.Errorf("max_connections %s after the failed Undo, want %s", got, old)
		}
		if err := f.Restart(ctx, "db2"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("errors name the server", func(t *testing.T) {
		for _, c := range []struct {
			err  error
			want string
		}{
			{f.Pause("db9"), "pause db9: "},
			{f.Cut("db1", FromTool), "cut db1: "},
			{f.Lag(ctx, "db1", 3), "lag db1: "},
			{f.MaxConnections(ctx, "db1", 0), "max_connections db1: "},
			{f.WrongPassword("db7"), "wrong_password db7: "},
		} {
			if c.err == nil || !strings.HasPrefix(c.err.Error(), c.want) {
				t.Errorf("%v, want an error starting %q", c.err, c.want)
			}
			errs = append(errs, c.err)
		}
	})
	noSecrets(t, sb, errs...)
}
