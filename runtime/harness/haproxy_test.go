package harness

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// startHAProxy runs haproxy in front of every server of sb, ready one
// ready, and stops it at the end of the test. Without haproxy the test
// skips, or fails under CI=true.
func startHAProxy(t *testing.T, sb *sandbox.Sandbox, ready string) *HAProxy {
	t.Helper()
	if _, err := FindHAProxy(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	h, err := SandboxHAProxy(context.Background(), sb, t.TempDir(), ready)
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
	return h
}

// serverID is @@server_id behind addr, on a new connection as a new
// client would get.
func serverID(t *testing.T, sb *sandbox.Sandbox, addr string) (int, error) {
	t.Helper()
	pw, err := sb.AppUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	cfg := gosql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = sb.AppUser.Name, pw, "tcp", addr
	cfg.Timeout, cfg.ReadTimeout = time.Second, 2*time.Second
	conn, err := gosql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var id int
	err = db.QueryRow("SELECT @@server_id").Scan(&id)
	return id, err
}

// HAProxy starts in front of a sandbox, its frontend reaches the ready
// server only, the admin socket answers, and Stop leaves no process and
// no temporary directory. A directory too long for a unix socket path
// gets its socket elsewhere.
func TestHAProxyStartAndStop(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	if _, err := FindHAProxy(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	servers := map[string]string{}
	for _, in := range sb.Instances {
		servers[in.Name] = in.Addr()
	}
	h, err := StartHAProxy(context.Background(), HAProxyOptions{Dir: dir, Servers: servers, Ready: "db2"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Stop() })
	if len(h.Socket()) > maxSocketPath || strings.HasPrefix(h.Socket(), dir) {
		t.Errorf("socket %s (%d bytes) for a directory of %d", h.Socket(), len(h.Socket()), len(dir))
	}
	if _, err := os.Stat(filepath.Join(dir, "haproxy.cfg")); err != nil {
		t.Errorf("the configuration is not in Dir: %v", err)
	}
	for i := 0; i < 3; i++ { // every new client, not one lucky pick
		if id, err := serverID(t, sb, h.Addr()); err != nil || id != 2 {
			t.Fatalf("through haproxy: server_id %d, %v; want db2's 2", id, err)
		}
	}
	out, err := h.Command(context.Background(), "show servers state writer")
	if err != nil || strings.Count(out, "\nwriter ")+strings.Count(out, " writer ") == 0 {
		t.Errorf("show servers state: %q, %v", out, err)
	}
	// Field 6 is srv_admin_state, bit 0x1 forced maintenance ("disabled"
	// in the configuration sets 0x4 too: 5).
	states := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 6 && f[1] == "writer" {
			states[f[3]], _ = strconv.Atoi(f[6])
		}
	}
	if states["db1"]&1 != 1 || states["db2"] != 0 || states["db3"]&1 != 1 {
		t.Errorf("admin states %v; want db2 ready, db1 and db3 in maintenance\n%s", states, out)
	}
	pid, socket := h.Pid(), h.Socket()
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("haproxy's pid %d after Stop: kill -0 gave %v; want no such process", pid, err)
	}
	if _, err := os.Stat(filepath.Dir(socket)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket's temporary directory is left: %v", err)
	}
	if err := h.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

// Options that would write a wrong or injected configuration are refused
// before anything starts, and a missing binary says what to install.
func TestStartHAProxyRefuses(t *testing.T) {
	ok := map[string]string{"db1": "127.0.0.1:1"}
	for _, o := range []HAProxyOptions{
		{Servers: ok, Ready: "db2"},
		{Servers: map[string]string{"db1\n  bind :80": "127.0.0.1:1"}, Ready: "db1\n  bind :80"},
		{Servers: map[string]string{"db1": "127.0.0.1:1 backup"}, Ready: "db1"},
		{Servers: ok, Ready: "db1", Backend: "w riter"},
		{Ready: "db1"},
	} {
		if h, err := StartHAProxy(context.Background(), o); err == nil {
			h.Stop()
			t.Errorf("%+v: started", o)
		}
	}
	_, err := StartHAProxy(context.Background(), HAProxyOptions{Servers: ok, Ready: "db1", Binary: filepath.Join(t.TempDir(), "haproxy")})
	if !errors.Is(err, ErrNoHAProxy) || !strings.Contains(err.Error(), "apt-get install haproxy") {
		t.Errorf("a missing binary: %v", err)
	}
}

// AddToDeployment keeps the sandbox's file beside a wrapper that names
// the proxy, and refuses to wrap twice.
func TestHAProxyAddToDeployment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "deployment.lua")
	if err := os.WriteFile(path, []byte("return { servers = {} }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &HAProxy{socket: "/tmp/haproxy-1/admin.sock", backend: "writer", servers: []string{"db1", "db2"}}
	if err := h.AddToDeployment(path); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	base, _ := os.ReadFile(filepath.Join(dir, "base-deployment.lua"))
	want := `local d = dofile("` + filepath.Join(dir, "base-deployment.lua") + `")
d.proxies = { { kind = "haproxy", socket = "/tmp/haproxy-1/admin.sock", backend = "writer", servers = { ["db1"] = "db1", ["db2"] = "db2" } } }
return d
`
	if !strings.HasSuffix(string(got), want) || string(base) != "return { servers = {} }\n" {
		t.Errorf("wrapper:\n%s\nbase:\n%s", got, base)
	}
	if err := h.AddToDeployment(path); err == nil {
		t.Error("wrapped twice")
	}
}
