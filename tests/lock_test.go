package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// The procedure lock needs a majority of the deployment's servers. With
// one of three hung it is granted (2 of 3: a failover must still run);
// with two hung, the one reachable server does not grant it (the other
// side of a partition may hold a majority), unless --force-lock, which
// says so. The lock used to be granted by any one server.
func TestLockMajority(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	lock := `replicant.lock(); print("locked")`
	stopServer(t, sb.Instances[2])
	if r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", lock); r.code != 0 || r.stdout != "locked\n" {
		t.Fatalf("2 of 3: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	stopServer(t, sb.Instances[1])
	r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", lock)
	if r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, "granted by 1 of 3 servers, a majority is 2") ||
		!strings.Contains(r.stderr, "db2") || !strings.Contains(r.stderr, "db3") {
		t.Fatalf("1 of 3: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", nil, "-d", sb.DeploymentPath, "--force-lock", "-e", lock)
	if r.code != 0 || r.stdout != "locked\n" || !strings.Contains(r.stderr, "held on 1 of 3 servers, FORCED (--force-lock)") {
		t.Fatalf("--force-lock: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
}

// A wrong password for two servers of three: the lock's error names each
// server's reason and keeps the kind auth (it used to read "no server
// answered" with kind usage).
func TestLockRefusedKindAuth(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	wrongPassword(t, sb.DeploymentPath, "db2")
	wrongPassword(t, sb.DeploymentPath, "db3")
	r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `
local ok, err = pcall(replicant.lock)
print(ok, err.kind)
print(tostring(err))`)
	lines := strings.SplitN(r.stdout, "\n", 2)
	if r.code != 0 || lines[0] != "false\tauth" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"db2", "db3", "Access denied"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("lock error lacks %q: %s", want, lines[1])
		}
	}
	if strings.Contains(r.stdout, "not-the-password") {
		t.Errorf("the password shows: %s", r.stdout)
	}
}

// Another connection kills the lock's sessions on two servers of three
// while a procedure runs: at its point of no return the procedure finds
// the lock lost, stops, and undoes its step. The lock used to be checked
// only when taken.
func TestLockLostStopsProcedure(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	goFile := filepath.Join(t.TempDir(), "go")
	cmd, stdout, stderr := startRunEnv(t, []string{"GO_FILE=" + goFile}, "-d", sb.DeploymentPath, "-e", `
local rep = require "replicant"
local db1 = rep.server("db1")
rep.lock()
rep.step("fence db1", function() db1:set_read_only(true) end, function() db1:set_read_only(false) end)
while not io.open(os.getenv("GO_FILE")) do rep.sleep("20ms") end
rep.point_of_no_return("nothing to finish")
rep.step("after", function() print("ran past a lost lock") end)`)
	db1 := connect(t, sb, sb.Primary())
	waitFor(t, "db1 fenced", func() bool { return variable(t, db1, "read_only") == int64(1) })
	for _, in := range sb.Instances[:2] {
		sv := connect(t, sb, in)
		row, err := sv.QueryRow(context.Background(), "SELECT IS_USED_LOCK('replicant-lua.procedure') AS id")
		if err != nil || row["id"] == nil {
			t.Fatalf("%s: lock session: %v %v", in.Name, row, err)
		}
		if _, err := sv.Exec(context.Background(), fmt.Sprintf("KILL %v", row["id"])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code := exitCode(cmd.Wait())
	if code != 1 || strings.Contains(stdout.String(), "ran past") ||
		!strings.Contains(stderr.String(), "procedure lock lost: held on 1 of 3 servers, 2 needed") ||
		!strings.Contains(stderr.String(), "fence db1: done, then undone") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if v := variable(t, db1, "read_only"); v != int64(0) {
		t.Errorf("db1 read_only = %v: the fence was not undone", v)
	}
}
