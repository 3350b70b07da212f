package tests

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/harness"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// haproxy is a real HAProxy (Debian's) in front of a sandbox, run by
// harness.StartHAProxy: a TCP backend "writer" with every server, only
// db1 ready, and an admin socket; stopped by its pid at the end of the
// test.
type haproxy struct{ *harness.HAProxy }

func startHAProxy(t testing.TB, sb *sandbox.Sandbox) *haproxy {
	t.Helper()
	if _, err := harness.FindHAProxy(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	h, err := harness.SandboxHAProxy(context.Background(), sb, "", "db1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("haproxy's output:\n%s", h.Output())
		}
	})
	// The deployment names it: a wrapper around the sandbox's file.
	if err := h.AddToDeployment(sb.DeploymentPath); err != nil {
		t.Fatal(err)
	}
	return &haproxy{h}
}

// serverID is the server_id of the server behind the proxy, through a
// fresh connection as a new client would get.
func (h *haproxy) serverID(t *testing.T, sb *sandbox.Sandbox) (int, error) {
	t.Helper()
	pw, err := sb.AppUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	cfg := gosql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = sb.AppUser.Name, pw, "tcp", h.Addr()
	cfg.Timeout, cfg.ReadTimeout = time.Second, 2*time.Second
	conn, err := gosql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var id int
	err = db.QueryRowContext(context.Background(), "SELECT @@server_id").Scan(&id)
	return id, err
}

// switchover and watch's failover move the writes in a real HAProxy: the
// new primary ready, the others in maintenance, and new clients reach
// the new primary.
func TestHAProxyFollowsThePrimary(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	h := startHAProxy(t, sb)
	if id, err := h.serverID(t, sb); err != nil || id != 1 {
		t.Fatalf("through haproxy before: server_id %d, %v", id, err)
	}
	state := func() string {
		r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `local p = require("replicant.haproxy").deployment()[1]
local st = p:state()
return st.db1.admin .. " " .. st.db2.admin .. " " .. st.db3.admin`)
		if r.code != 0 {
			t.Fatalf("haproxy state: %+v", r)
		}
		return strings.Trim(strings.TrimSpace(r.stdout), `"`)
	}
	if got := state(); got != "ready maint maint" {
		t.Fatalf("state before: %q", got)
	}
	// A dry run reads the state but changes nothing there.
	r := run(t, "", nil, "-d", sb.DeploymentPath, "--dry-run", "-e",
		`require("replicant.haproxy").deployment()[1]:route_writes("db3")`)
	if r.code != 0 || !strings.Contains(r.stdout, "socket: haproxy writer/db3: set server writer/db3 state ready") || state() != "ready maint maint" {
		t.Fatalf("dry run: %+v; state %q", r, state())
	}
	r = run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db2")
	if r.code != 0 || !strings.Contains(r.stdout, "writes now go to db2 through haproxy writer") {
		t.Fatalf("switchover: %+v", r)
	}
	if got := state(); got != "maint ready maint" {
		t.Errorf("state after the switchover: %q", got)
	}
	if id, err := h.serverID(t, sb); err != nil || id != 2 {
		t.Errorf("through haproxy after the switchover: server_id %d, %v", id, err)
	}
	w := startWatch(t, sb)
	in, _ := sb.Instance("db2")
	signalPid(t, in.Pid, syscall.SIGKILL)
	waitFor(t, "watch's failover", func() bool { st := w.status(); return st.Last != nil && st.Last.Outcome == "done" })
	got := state()
	if got != "maint maint ready" && got != "ready maint maint" {
		t.Fatalf("state after the failover: %q; watch's log:\n%s", got, w.stderr)
	}
	want := 3
	if got == "ready maint maint" {
		want = 1
	}
	if id, err := h.serverID(t, sb); err != nil || id != want {
		t.Errorf("through haproxy after the failover: server_id %d, %v (want %d)", id, err, want)
	}
}
