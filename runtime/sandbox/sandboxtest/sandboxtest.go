// Package sandboxtest starts sandboxes of real servers for tests.
//
//	func TestMain(m *testing.M) { sandboxtest.Main(m) } // optional: share one template
//
//	func TestSomething(t *testing.T) {
//		sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
//		dsn, _ := sb.Primary().DSN(sb.AppUser)
//		...
//	}
//
// Without Main every sandbox runs mariadb-install-db itself (≈1.7 s more);
// with it the first Start of a test process makes a template that the
// others copy, and Main deletes it when the tests are done.
package sandboxtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// templates is the per-process cache Main turns on: one initialised
// datadir per server binary.
var templates struct {
	sync.Mutex
	dir    string // "" while Main is not in use
	byPath map[string]*template
}

type template struct {
	once sync.Once
	dir  string
	err  error
}

// Main runs the tests with a shared template datadir, and deletes it
// afterwards. Call it from TestMain.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "replicant-lua-templates-")
	if err == nil {
		templates.Lock()
		templates.dir, templates.byPath = dir, map[string]*template{}
		templates.Unlock()
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// cachedTemplate returns the shared template for binary, making it on
// first use; "" when Main is not in use.
func cachedTemplate(ctx context.Context, binary string) (string, error) {
	templates.Lock()
	if templates.dir == "" {
		templates.Unlock()
		return "", nil
	}
	tp := templates.byPath[binary]
	if tp == nil {
		tp = &template{dir: filepath.Join(templates.dir, filepath.Base(binary)+"-"+strconv.Itoa(len(templates.byPath)))}
		templates.byPath[binary] = tp
	}
	templates.Unlock()
	tp.once.Do(func() { tp.err = sandbox.PrepareTemplate(ctx, binary, tp.dir) })
	return tp.dir, tp.err
}

// Template returns an initialised datadir for binary to use as
// Options.Template: the shared one under Main, else a new one in
// t.TempDir().
func Template(t testing.TB, binary string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := cachedTemplate(ctx, binary)
	if err == nil && dir == "" {
		dir = filepath.Join(t.TempDir(), "template")
		err = sandbox.PrepareTemplate(ctx, binary, dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// Start brings up a sandbox in a fresh temporary directory on free ports
// (unless opts say otherwise) and stops it by pid when the test ends,
// whether it passed or not. Without a server binary the test is skipped,
// or fails when CI=true: CI must never skip the real-server tests. The
// deployment names each server's machine (Options.WriteMachines).
func Start(t testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	bin, err := sandbox.FindBinary(opts.Binary)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	opts.Binary = bin
	// Tests see the deployment an operator's sandbox has: with machines.
	opts.WriteMachines = true
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if opts.Template == "" {
		if opts.Template, err = cachedTemplate(ctx, bin); err != nil {
			t.Fatal(err)
		}
	}
	// Registered before Up, so that it runs before t.TempDir's removal and
	// even when Up fails after writing the state.
	t.Cleanup(func() { stop(t, opts.Dir) })
	sb, err := sandbox.Up(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

// stop stops the sandbox by its recorded pids, quotes the servers' error
// logs when the test failed, and deletes the directory (and the socket
// directory Up may have made outside it).
func stop(t testing.TB, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sandbox.Down(ctx, dir); err != nil {
		switch {
		case errors.Is(err, sandbox.ErrNoSandbox):
			return
		case errors.Is(err, machine.ErrKilled):
			// A server slow to shut down after heavy load (its dirty pages
			// on a loaded machine) was killed after the grace period: it is
			// gone, which is all a test's end needs. Seen once after a
			// minute of sysbench at full speed on 2 cores.
			t.Logf("sandbox down %s: %v", dir, err)
		default:
			t.Errorf("sandbox down %s: %v", dir, err)
			return
		}
	}
	if t.Failed() {
		logErrorLogs(t, dir)
	}
	if err := sandbox.Remove(dir); err != nil {
		t.Errorf("sandbox remove %s: %v", dir, err)
	}
}

// logErrorLogs shows the end of every server's error log: after a failure
// the directory is about to be deleted with them.
func logErrorLogs(t testing.TB, dir string) {
	s, err := sandbox.Load(dir)
	if err != nil {
		return
	}
	for _, in := range s.Instances {
		b, err := os.ReadFile(in.ErrorLog)
		if err != nil {
			continue
		}
		if len(b) > 2000 {
			b = b[len(b)-2000:]
		}
		t.Logf("%s error log (end):\n%s", in.Name, b)
	}
}
