package sandbox

import (
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

	"github.com/replicant-lua/replicant-lua/runtime/machine"
)

// stopGrace is how long a server gets to shut down after SIGTERM before
// SIGKILL. A sandbox server with a 16M buffer pool stops in ≈0.1 s.
const stopGrace = 30 * time.Second

// consoleLog is the server's stdout and stderr, next to its option file:
// the error log only exists once the options are read.
func consoleLog(in Instance) string {
	return filepath.Join(filepath.Dir(in.DefaultsFile), "console.log")
}

// newMachine is the machine of one instance: a mariadbd started with the
// instance's option file (which sets pid-file and log-error), found again
// from its pid file and /proc by any process, so that Down works after
// the process that ran Up has exited, and a recycled pid is never
// signalled.
func newMachine(in Instance, detach bool, timeout time.Duration) (*machine.Process, error) {
	m, err := machine.NewProcess(machine.ProcessOptions{
		DefaultsFile: in.DefaultsFile,
		Binary:       in.Binary,
		ConsoleLog:   consoleLog(in),
		Detach:       detach,
		Ready:        rootReady(in),
		StartTimeout: timeout,
		StopGrace:    stopGrace,
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %s: %w", in, err)
	}
	return m, nil
}

// rootReady pings the server as root over its socket. Each attempt opens
// its own pool, so that a machine kept for later (see Machine) holds no
// connection between starts.
func rootReady(in Instance) machine.Ready {
	return func(ctx context.Context) error {
		db := rootDB(in)
		defer db.Close()
		return db.PingContext(ctx)
	}
}

// initMachines builds the machine of every instance. Load asks for
// detached servers: the sandbox belongs to whoever ran Up, not to a
// process that merely restarts one of its servers.
func (s *Sandbox) initMachines(detach bool, timeout time.Duration) error {
	s.machines = make(map[string]*machine.Process, len(s.Instances))
	for _, in := range s.Instances {
		m, err := newMachine(in, detach, timeout)
		if err != nil {
			return err
		}
		s.machines[in.Name] = m
	}
	return nil
}

// Machine returns the machine that starts and stops the named server
// (its option file is Instance.DefaultsFile): the roles layer restarts
// servers through it. For a sandbox returned by Up it is the one that
// started the server, which reaps it when it exits.
func (s *Sandbox) Machine(name string) (machine.Machine, error) {
	m, err := s.machine(name)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (s *Sandbox) machine(name string) (*machine.Process, error) {
	if m := s.machines[name]; m != nil {
		return m, nil
	}
	in, ok := s.Instance(name)
	if !ok {
		return nil, fmt.Errorf("sandbox %s: no server %q", s.Dir, name)
	}
	// A Sandbox that neither Up nor Load made.
	return newMachine(in, true, 0)
}

// pid is the pid of the running server of in, 0 when it is not running.
// Without an option file it was never started: Up writes the file before
// it starts a server, but may have failed before that.
func (s *Sandbox) pid(ctx context.Context, in Instance) (int, error) {
	if _, err := os.Stat(in.DefaultsFile); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	m, err := s.machine(in.Name)
	if err != nil {
		return 0, err
	}
	var pid int
	err = retryVanished(func() (err error) {
		pid, err = m.Pid(ctx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", in, err)
	}
	return pid, nil
}

// retryVanished asks the machine again when it failed because a process
// vanished under it. It reads /proc/PID/stat, and the read of a process
// reaped after the open fails with ESRCH ("read /proc/N/stat: no such
// process"), which runtime/machine reports as an error instead of "gone";
// it happened to 2 of ≈30 Downs of the tests, whose stopped servers are
// reaped by this process. The next attempt finds the process gone.
func retryVanished(f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if attempt < 3 && errors.Is(err, syscall.ESRCH) {
			continue
		}
		return err
	}
}

// stop stops the server of in; a server already stopped is not an error,
// so stopping twice is fine.
func (s *Sandbox) stop(ctx context.Context, in Instance) error {
	if _, err := os.Stat(in.DefaultsFile); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	m, err := s.machine(in.Name)
	if err == nil {
		err = retryVanished(func() error { return m.Stop(ctx) })
	}
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return nil
}

// stopAll stops every server in parallel, one error per instance.
func (s *Sandbox) stopAll(ctx context.Context) []error {
	errs := make([]error, len(s.Instances))
	var wg sync.WaitGroup
	for i, in := range s.Instances {
		wg.Go(func() { errs[i] = s.stop(ctx, in) })
	}
	wg.Wait()
	return errs
}

// Down stops every server of the sandbox in dir (found by its pid file,
// checked against /proc) and records them as stopped. It never deletes
// data (see Remove) and is safe to repeat.
func Down(ctx context.Context, dir string) error {
	s, err := Load(dir)
	if err != nil {
		return err
	}
	errs := s.stopAll(ctx)
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

// running lists the instances whose server is up, with their live pids.
func (s *Sandbox) running(ctx context.Context) ([]Instance, error) {
	var out []Instance
	var errs []error
	for _, in := range s.Instances {
		pid, err := s.pid(ctx, in)
		if err != nil {
			errs = append(errs, err)
		}
		if pid != 0 {
			in.Pid = pid
			out = append(out, in)
		}
	}
	return out, errors.Join(errs...)
}

// Wait blocks until no server of s runs any more (a server that this
// process started is reaped by its machine), or d has passed; it reports
// whether they have all gone.
func (s *Sandbox) Wait(d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		up, err := s.running(ctx)
		if err == nil && len(up) == 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
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
	up, err := s.running(context.Background())
	if len(up) > 0 {
		return fmt.Errorf("sandbox: %s: %s still running (pid %d); stop the sandbox first", abs, up[0].Name, up[0].Pid)
	}
	if err != nil {
		return fmt.Errorf("sandbox: %s: not removed, cannot tell whether its servers run: %w", abs, err)
	}
	// Only a directory Up made itself is removed, whatever the file says.
	if s.SocketDir != "" && strings.HasPrefix(filepath.Base(s.SocketDir), "rl-sock-") {
		if err := os.RemoveAll(s.SocketDir); err != nil {
			return err
		}
	}
	return os.RemoveAll(abs)
}
