// Package backuptest provides a backup.Controller over one server of a
// sandbox, for tests of physical restores (the sandbox package starts and
// stops whole sandboxes only, and runtime/machine is not wired to it), and
// the checks the backup tests share.
package backuptest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Controller stops a sandbox server by pid and starts it again the way the
// sandbox does: `mariadbd --defaults-file=DIR/my.cnf`, output to
// console.log, ready when it answers on its socket.
type Controller struct {
	in sandbox.Instance

	mu        sync.Mutex
	pid       int
	exited    <-chan struct{} // closed when a server we started has been reaped
	failStart int

	Stops, Starts int // calls so far
}

// New controls the instance called name of sb. A server it starts is
// stopped when the test ends, before the sandbox's own cleanup (which only
// knows the first pid).
func New(t testing.TB, sb *sandbox.Sandbox, name string) *Controller {
	t.Helper()
	in, ok := sb.Instance(name)
	if !ok {
		t.Fatalf("backuptest: no instance %s", name)
	}
	c := &Controller{in: in, pid: in.Pid}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("backuptest: stop %s: %v", name, err)
		}
	})
	return c
}

// FailStarts makes the next n calls of Start fail without starting the
// server, to test what a restore does when the server will not start.
func (c *Controller) FailStarts(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failStart = n
}

// Pid is the server's current pid, 0 when stopped.
func (c *Controller) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running() {
		return 0
	}
	return c.pid
}

// Stop sends SIGTERM and waits until the process is gone (SIGKILL after a
// minute). A server already stopped is not an error.
func (c *Controller) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Stops++
	if !c.running() {
		return nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := syscall.Kill(c.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("%s: signal pid %d: %w", c.in.Name, c.pid, err)
		}
		deadline := time.Now().Add(time.Minute)
		for c.running() && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
		if !c.running() {
			return nil
		}
	}
	return fmt.Errorf("%s: pid %d survived SIGKILL", c.in.Name, c.pid)
}

// Start runs the server and waits until it answers. A server already
// running is not an error.
func (c *Controller) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Starts++
	if c.running() {
		return nil
	}
	if c.failStart > 0 {
		c.failStart--
		return fmt.Errorf("%s: start refused by the test (FailStarts)", c.in.Name)
	}
	idir := filepath.Dir(c.in.DefaultsFile)
	console, err := os.OpenFile(filepath.Join(idir, "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer console.Close()
	cmd := exec.Command(c.in.Binary, "--defaults-file="+c.in.DefaultsFile)
	cmd.Dir, cmd.Stdout, cmd.Stderr = idir, console, console
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start: %w", c.in.Name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c.pid, c.exited = cmd.Process.Pid, exited
	return c.waitReady(ctx)
}

// waitReady pings over the socket. Any answer from the server, even a
// refused login (a restored datadir brings the image's accounts), means it
// is up.
func (c *Controller) waitReady(ctx context.Context) error {
	cfg := gosql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.Timeout = "root", "unix", c.in.Socket, 2*time.Second
	connector, err := gosql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		err := db.PingContext(ctx)
		var me *gosql.MySQLError
		if err == nil || errors.As(err, &me) {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("%s: server exited while starting: %s", c.in.Name, c.logTail())
		case <-ctx.Done():
			return fmt.Errorf("%s: not answering: %v: %s", c.in.Name, err, c.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Controller) logTail() string {
	b, _ := os.ReadFile(c.in.ErrorLog)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	return strings.Join(lines, "\n")
}

// running reports whether c.pid is, right now, this instance's server: pids
// are recycled, so /proc/PID/cmdline must name its option file; a zombie
// has exited.
func (c *Controller) running() bool {
	if c.pid <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.pid))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c.pid))
	if err != nil {
		return false
	}
	return bytes.Contains(cmdline, []byte("\x00--defaults-file="+c.in.DefaultsFile+"\x00"))
}

// Exec runs statements on sv, failing the test at the first error.
func Exec(t testing.TB, sv *server.Server, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := sv.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// Variable reads a variable of sv as text ("" for NULL).
func Variable(t testing.TB, sv *server.Server, name string) string {
	t.Helper()
	v, err := sv.Variable(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := v.(string)
	return s
}

// Rows counts app.t, the table the backup tests fill.
func Rows(t testing.TB, sv *server.Server) int64 {
	t.Helper()
	row, err := sv.QueryRow(context.Background(), "SELECT COUNT(*) AS n FROM app.t")
	if err != nil {
		t.Fatal(err)
	}
	return row["n"].(int64)
}

// State is what a refused or undone restore must leave as it was: the
// rows and both GTID positions.
func State(t testing.TB, sv *server.Server) string {
	t.Helper()
	sv.Close() // a restart may have ended the session
	return fmt.Sprintf("rows=%d binlog=%q slave=%q", Rows(t, sv),
		Variable(t, sv, "gtid_binlog_pos"), Variable(t, sv, "gtid_slave_pos"))
}

// CaughtUp waits until replica has applied everything primary logged.
func CaughtUp(t testing.TB, primary, replica *server.Server) {
	t.Helper()
	set, err := gtid.Parse(Variable(t, primary, "gtid_binlog_pos"), gtid.MariaDB)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if ok, err := replica.WaitForGTID(ctx, set, 30*time.Second); err != nil || !ok {
		t.Fatalf("%s did not catch up with %s: %v, %v", replica, set, ok, err)
	}
}
