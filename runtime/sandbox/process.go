package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// How long a server gets to shut down after SIGTERM before SIGKILL, and
// how long the kernel gets after SIGKILL. A sandbox server with a 16M
// buffer pool stops in ≈0.1 s.
var (
	stopGrace = 30 * time.Second
	killGrace = 10 * time.Second
)

// procState is the state letter of /proc/PID/stat ('R', 'S', 'Z', …); ok
// is false when there is no such process.
func procState(pid int) (state byte, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name in parentheses may itself hold ") ": the state is
	// after the last one.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, false
	}
	return b[i+2], true
}

// serverOf reports whether pid is, right now, the live server of in. Pids
// are recycled, so a recorded pid is only trusted when /proc/PID/cmdline
// still names a mariadbd/mysqld run with this instance's option file. A
// zombie has exited (and `kill -0` still succeeds on it for ≈1.5 s after
// its parent shell has gone), so it does not count.
func serverOf(pid int, in Instance) bool {
	if pid <= 0 {
		return false
	}
	if st, ok := procState(pid); !ok || st == 'Z' || st == 'X' {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	exe := filepath.Base(args[0])
	if !strings.HasPrefix(exe, "mariadbd") && !strings.HasPrefix(exe, "mysqld") && exe != filepath.Base(in.Binary) {
		return false
	}
	for _, a := range args[1:] {
		if a == "--defaults-file="+in.DefaultsFile || a == "--datadir="+in.DataDir {
			return true
		}
	}
	return false
}

// stopInstance stops the server of in by its recorded pid: SIGTERM, wait,
// SIGKILL after stopGrace. A server already gone (or whose pid now belongs
// to another program) is not an error, so stopping twice is fine.
func stopInstance(ctx context.Context, in Instance) error {
	if !serverOf(in.Pid, in) {
		return nil
	}
	if err := syscall.Kill(in.Pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: stop pid %d: %w", in, in.Pid, err)
	}
	gone, err := waitGone(ctx, in, stopGrace)
	if gone || err != nil {
		return err
	}
	if err := syscall.Kill(in.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: kill pid %d: %w", in, in.Pid, err)
	}
	gone, err = waitGone(ctx, in, killGrace)
	if err == nil && !gone {
		err = fmt.Errorf("%s: pid %d still running %s after SIGKILL", in, in.Pid, killGrace)
	}
	return err
}

// waitGone polls until the server of in is no longer running (exited,
// zombie, or reaped by the goroutine of startProcess), for at most d.
func waitGone(ctx context.Context, in Instance, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		if !serverOf(in.Pid, in) {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("%s: waiting for pid %d to exit: %w", in, in.Pid, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stopAll stops instances in parallel, one error per instance.
func stopAll(ctx context.Context, instances []Instance) []error {
	errs := make([]error, len(instances))
	var wg sync.WaitGroup
	for i, in := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stopInstance(ctx, in)
		}()
	}
	wg.Wait()
	return errs
}

// Down stops every server of the sandbox in dir by its recorded pid and
// records them as stopped. It never deletes data (see Remove) and is safe
// to repeat.
func Down(ctx context.Context, dir string) error {
	s, err := Load(dir)
	if err != nil {
		return err
	}
	errs := stopAll(ctx, s.Instances)
	for i, err := range errs {
		if err == nil {
			s.Instances[i].Pid = 0
		}
	}
	if err := s.save(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// running lists the instances whose server is still up.
func (s *Sandbox) running() []Instance {
	var out []Instance
	for _, in := range s.Instances {
		if serverOf(in.Pid, in) {
			out = append(out, in)
		}
	}
	return out
}

// Remove deletes the sandbox directory dir (and the socket directory when
// the sockets lived elsewhere). It refuses a directory without
// sandbox.json, and a sandbox whose servers still run: deleting a running
// datadir would corrupt nothing we care about, but would leave servers
// nobody can find again.
func Remove(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	s, err := Load(abs)
	if errors.Is(err, ErrNoSandbox) {
		if _, serr := os.Stat(abs); errors.Is(serr, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("sandbox: %s has no %s; refusing to delete it", abs, StateFile)
	}
	if err != nil {
		return err
	}
	if up := s.running(); len(up) > 0 {
		return fmt.Errorf("sandbox: %s: %s still running (pid %d); stop the sandbox first", abs, up[0].Name, up[0].Pid)
	}
	// Only a directory Up made itself is removed, whatever the file says.
	if s.SocketDir != "" && strings.HasPrefix(filepath.Base(s.SocketDir), "rl-sock-") {
		if err := os.RemoveAll(s.SocketDir); err != nil {
			return err
		}
	}
	return os.RemoveAll(abs)
}
