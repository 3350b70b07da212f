package machine

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gosql "github.com/go-sql-driver/mysql"
)

// TestMain removes the template datadir the MariaDB tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	if template.dir != "" {
		os.RemoveAll(filepath.Dir(template.dir))
	}
	os.Exit(code)
}

// need skips a test that lacks a tool, or fails it under CI=true: CI must
// never skip the tests against real servers.
func need(t testing.TB, err error, hint string) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v (CI=true, so this fails instead of skipping; %s)", err, hint)
	}
	t.Skipf("%v; %s", err, hint)
}

const mariadbHint = `install MariaDB with "apt-get install -y mariadb-server" (no service needs to run)`

// template is one initialised datadir per test process; copying it (cp -a,
// ≈0.04 s) is much faster than mariadb-install-db (≈1–3 s).
var template struct {
	once sync.Once
	dir  string
	err  error
}

func templateDatadir(t testing.TB) string {
	t.Helper()
	template.once.Do(func() {
		base, err := os.MkdirTemp("", "machine-template-")
		if err != nil {
			template.err = err
			return
		}
		dir, tmp := filepath.Join(base, "data"), filepath.Join(base, "tmp")
		os.Mkdir(tmp, 0o700)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "mariadb-install-db", "--no-defaults", "--datadir="+dir, "--user=root",
			"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
			"--innodb-log-file-size=8M", "--innodb-buffer-pool-size=16M", "--tmpdir="+tmp).CombinedOutput()
		if err != nil {
			template.err = fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
			return
		}
		template.dir = dir
	})
	need(t, template.err, mariadbHint)
	return template.dir
}

// testServer is a MariaDB server's files in a temporary directory; it is
// not running until a Machine starts it.
type testServer struct {
	dir          string
	defaultsFile string
	dataDir      string
	socket       string
	pidFile      string
	errorLog     string
	port         int
}

// newTestServer makes a datadir and an option file; extra lines go at the
// end of its [mysqld] group. Every server left running by the test is
// stopped by pid when it ends, whatever happened.
func newTestServer(t *testing.T, extra ...string) *testServer {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/mariadbd"); err != nil {
		need(t, err, mariadbHint)
	}
	tmpl := templateDatadir(t)
	dir := t.TempDir()
	// sun_path holds 107 characters; a long test name makes TempDir longer.
	sockDir, err := os.MkdirTemp("", "msock-")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{
		dir:          dir,
		defaultsFile: filepath.Join(dir, "my.cnf"),
		dataDir:      filepath.Join(dir, "data"),
		socket:       filepath.Join(sockDir, "s.sock"),
		pidFile:      filepath.Join(dir, "mariadbd.pid"),
		errorLog:     filepath.Join(dir, "error.log"),
		port:         freePort(t),
	}
	t.Cleanup(func() {
		killServers(t, ts.defaultsFile)
		os.RemoveAll(sockDir)
	})
	if out, err := exec.Command("cp", "-a", tmpl, ts.dataDir).CombinedOutput(); err != nil {
		t.Fatalf("copying the template datadir: %v\n%s", err, out)
	}
	os.Mkdir(filepath.Join(dir, "tmp"), 0o700)
	ts.writeOptions(t, extra...)
	return ts
}

func (ts *testServer) writeOptions(t *testing.T, extra ...string) {
	t.Helper()
	lines := []string{"[mysqld]"}
	if os.Geteuid() == 0 {
		lines = append(lines, "user = root") // mariadbd refuses root without it
	}
	lines = append(lines,
		"datadir = "+ts.dataDir,
		"tmpdir = "+filepath.Join(ts.dir, "tmp"),
		"socket = "+ts.socket,
		"port = "+strconv.Itoa(ts.port),
		"bind-address = 127.0.0.1",
		"pid-file = "+ts.pidFile,
		"log-error = "+ts.errorLog,
		"skip-name-resolve",
		"performance-schema = OFF",
		"innodb-buffer-pool-size = 16M",
	)
	lines = append(lines, extra...)
	if err := os.WriteFile(ts.defaultsFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ready pings the server as root over its socket.
func (ts *testServer) ready(t *testing.T) Ready {
	cfg := gosql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "unix", ts.socket
	cfg.Timeout = time.Second
	connector, err := gosql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	// A fresh connection for each ping: a pooled one may belong to the
	// server a test has just stopped.
	db.SetMaxIdleConns(0)
	t.Cleanup(func() { db.Close() })
	return func(ctx context.Context) error { return db.PingContext(ctx) }
}

// serverPids scans /proc for servers run with defaultsFile: the test's own
// unique temporary path, never a name.
func serverPids(defaultsFile string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		proc, ok, _ := readProcess(context.Background(), Local(), pid)
		if !ok || proc.exited() || len(proc.argv) < 2 {
			continue
		}
		if strings.HasPrefix(filepath.Base(proc.argv[0]), "mariadbd") && proc.argv[1] == "--defaults-file="+defaultsFile {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killServers stops, by pid, every server of defaultsFile still running.
func killServers(t testing.TB, defaultsFile string) {
	pids := serverPids(defaultsFile)
	for _, pid := range pids {
		t.Logf("cleanup: stopping leftover server pid %d", pid)
		syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(serverPids(defaultsFile)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range serverPids(defaultsFile) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// fakeCommand writes an executable shell script named name into dir.
func fakeCommand(t testing.TB, dir, name, script string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func contains(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error does not contain %q:\n%v", p, err)
		}
	}
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// nulSplit splits printf '%s\0' output.
func nulSplit(b []byte) []string {
	parts := bytes.Split(b, []byte{0})
	out := make([]string, 0, len(parts))
	for _, p := range parts[:len(parts)-1] {
		out = append(out, string(p))
	}
	return out
}
