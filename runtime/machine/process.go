package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ProcessOptions describes a server that we start ourselves: mariadbd
// --defaults-file=FILE, on this computer or on a remote Host. Its paths
// (datadir, pid-file, log-error) are read from the option file at every
// start and stop.
type ProcessOptions struct {
	DefaultsFile string   // the server's option file; required, absolute on a remote host
	Binary       string   // default: mariadbd on PATH, else /usr/sbin/mariadbd
	Args         []string // more options, after --defaults-file (they win over the file)

	// PidFile is where the server writes its pid. Default: the option
	// file's pid-file, else DATADIR/mariadbd.pid. Passed as --pid-file
	// when the option file says otherwise.
	PidFile string
	// ErrorLog is read for errors when the server fails to start.
	// Default: the option file's log-error.
	ErrorLog string
	// ConsoleLog receives the server's stdout and stderr (messages from
	// before it opens its error log). Default: DATADIR.console.log, next
	// to the datadir.
	ConsoleLog string

	Host Host // nil means this computer

	// Detach puts a local server in a session of its own, so that it
	// outlives this process and a Ctrl-C in its terminal. The CLI sets it;
	// tests leave it off so that their servers stay children. A server on
	// a remote host is always detached.
	Detach bool

	// Ready says when a started server accepts work. Without it, Start
	// returns once the server has written its pid file, before it may
	// accept connections.
	Ready Ready

	StartTimeout time.Duration // default bound of Start; DefaultStartTimeout
	StopGrace    time.Duration // SIGTERM to SIGKILL; DefaultStopGrace
}

// Process is a Machine whose server is a process we start and signal by
// its pid.
type Process struct {
	o    ProcessOptions
	host Host

	op sync.Mutex // one Start, Stop or Restart at a time

	mu    sync.Mutex
	child *child // the local server this Process started, while it lives
}

// child is a local server we started; exited is closed once it has been
// reaped.
type child struct {
	pid    int
	exited <-chan struct{}
}

// NewProcess checks o and returns the Machine.
func NewProcess(o ProcessOptions) (*Process, error) {
	if o.DefaultsFile == "" {
		return nil, errors.New("process: no defaults file (the server's option file)")
	}
	if o.Host == nil {
		o.Host = Local()
	}
	_, local := o.Host.(localHost)
	if !local && !filepath.IsAbs(o.DefaultsFile) {
		return nil, fmt.Errorf("process: defaults file %s: want an absolute path on %s", o.DefaultsFile, o.Host)
	}
	if local {
		abs, err := filepath.Abs(o.DefaultsFile)
		if err != nil {
			return nil, fmt.Errorf("process: defaults file %s: %w", o.DefaultsFile, err)
		}
		o.DefaultsFile = abs
	}
	if o.Binary == "" {
		o.Binary = defaultBinary(local)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StopGrace <= 0 {
		o.StopGrace = DefaultStopGrace
	}
	return &Process{o: o, host: o.Host}, nil
}

// defaultBinary: ordinary users on Debian have no /usr/sbin on their PATH,
// and neither has a non-login ssh session.
func defaultBinary(local bool) string {
	if local {
		for _, name := range []string{"mariadbd", "mysqld"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
	}
	return "/usr/sbin/mariadbd"
}

func (p *Process) String() string {
	what := "defaults file " + p.o.DefaultsFile
	if p.o.PidFile != "" {
		what = "pid file " + p.o.PidFile
	}
	if _, ok := p.host.(localHost); ok {
		return "local " + what
	}
	return fmt.Sprintf("%s (%s)", p.host, what)
}

// Start starts the server unless it is running, and waits for Ready. A
// server that does not become ready is stopped, and the error, which
// wraps a *StartError, carries the last lines of its error log.
func (p *Process) Start(ctx context.Context) error {
	p.op.Lock()
	defer p.op.Unlock()
	if err := p.start(ctx); err != nil {
		return fmt.Errorf("%s: start: %w", p, err)
	}
	return nil
}

func (p *Process) start(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, p.o.StartTimeout)
	defer cancel()
	f, err := p.files(ctx)
	if err != nil {
		return err
	}
	pid, err := p.serverPid(ctx, f)
	if err != nil {
		return err
	}
	if pid != 0 {
		// Already running (started by us or another invocation).
		if err := p.waitReady(ctx, f, pid, false, nil); err != nil {
			return p.startError(ctx, f, nil, pid, err)
		}
		return nil
	}
	mark := p.markLogs(ctx, f)
	pid, exited, err := p.spawn(ctx, f)
	if err != nil {
		return err
	}
	err = p.waitReady(ctx, f, pid, true, exited)
	if err == nil {
		err = p.checkPidFile(ctx, f, pid)
	}
	if err == nil {
		return nil
	}
	// The log before the stop: its last lines say why the server is not
	// ready, what the shutdown adds does not.
	serr := p.startError(ctx, f, mark, pid, err)
	sctx, scancel := cleanupContext(ctx, p.o.StopGrace+killGrace)
	defer scancel()
	if err := p.stopPid(sctx, f, pid); err != nil {
		return errors.Join(serr, fmt.Errorf("and stopping it: %w", err))
	}
	return serr
}

// StartError is a server that did not become ready. Start's error wraps
// it; the sandbox, for one, reads the log lines to tell a port clash.
type StartError struct {
	Pid     int
	Exited  bool   // it exited by itself (else it was stopped after the failure)
	Log     string // the file LogTail comes from; "" when the logs were empty
	LogTail string // the last lines this start wrote there
	Err     error  // what went wrong: exited, not ready in time, no pid file
}

func (e *StartError) Error() string {
	if e.Log == "" {
		return fmt.Sprintf("%v\n%s", e.Err, e.LogTail)
	}
	return fmt.Sprintf("%v\nlast lines of %s:\n%s", e.Err, e.Log, e.LogTail)
}

func (e *StartError) Unwrap() error { return e.Err }

func (p *Process) startError(ctx context.Context, f serverFiles, mark logMark, pid int, err error) *StartError {
	path, text := p.logTail(ctx, f, mark)
	return &StartError{Pid: pid, Exited: errors.Is(err, errExited), Log: path, LogTail: text, Err: err}
}

// waitReady waits for Ready, or for the pid file when there is no Ready,
// while watching the process: a server that died is reported at once.
// started is true for a process we have just spawned.
func (p *Process) waitReady(ctx context.Context, f serverFiles, pid int, started bool, exited <-chan struct{}) error {
	alive := func(ctx context.Context) (bool, error) {
		if started {
			select {
			case <-exited: // nil for a remote server: /proc tells
				return false, nil
			default:
			}
			// Just started: over ssh, setsid may not have exec'd mariadbd
			// yet, so its command line cannot be checked.
			proc, ok, err := readProcess(ctx, p.host, pid)
			return ok && !proc.exited(), err
		}
		return p.isServer(ctx, pid, f)
	}
	ready := p.o.Ready
	if ready == nil {
		ready = func(ctx context.Context) error {
			n, err := readPid(ctx, p.host, f.pidFile)
			if err == nil && n == 0 {
				err = fmt.Errorf("no pid in %s yet", f.pidFile)
			}
			return err
		}
	}
	if err := pollReady(ctx, ready, alive); err != nil {
		return fmt.Errorf("server (pid %d) %w", pid, err)
	}
	return nil
}

// checkPidFile makes sure that Stop will find the server: Ready may have
// been answered by another server on the same port or socket.
func (p *Process) checkPidFile(ctx context.Context, f serverFiles, started int) error {
	pid, err := p.serverPid(ctx, f)
	if err != nil {
		return err
	}
	if pid == 0 {
		return fmt.Errorf("server (pid %d) is ready, but pid file %s does not name a running server of %s", started, f.pidFile, p.o.DefaultsFile)
	}
	return nil
}

// serverPid is the pid of the running server, 0 when it is not running.
// The pid file is trusted only when /proc agrees (see isServer): a stale
// pid file that names some other live process means "not running".
func (p *Process) serverPid(ctx context.Context, f serverFiles) (int, error) {
	pid, err := readPid(ctx, p.host, f.pidFile)
	if err != nil {
		return 0, err
	}
	if ok, err := p.isServer(ctx, pid, f); ok || err != nil {
		return pid, err
	}
	// A child of ours that has not written its pid file (yet, or ever).
	p.mu.Lock()
	c := p.child
	p.mu.Unlock()
	if c != nil {
		if ok, err := p.isServer(ctx, c.pid, f); ok || err != nil {
			return c.pid, err
		}
	}
	return 0, nil
}

// Running reports whether the server's process is up.
func (p *Process) Running(ctx context.Context) (bool, error) {
	pid, err := p.pid(ctx, "running")
	if err != nil {
		return false, err
	}
	return pid != 0, nil
}

// Stop sends SIGTERM to the server's verified pid and waits until it is
// gone; after StopGrace it sends SIGKILL and returns an error wrapping
// ErrKilled. A server that is not running is not an error. It never
// signals a process by name, nor one whose command line is not ours.
func (p *Process) Stop(ctx context.Context) error {
	p.op.Lock()
	defer p.op.Unlock()
	if err := p.stop(ctx); err != nil {
		return fmt.Errorf("%s: stop: %w", p, err)
	}
	return nil
}

func (p *Process) stop(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, p.o.StopGrace+killGrace+DefaultCommandTimeout)
	defer cancel()
	f, err := p.files(ctx)
	if err != nil {
		return err
	}
	pid, err := p.serverPid(ctx, f)
	if err != nil || pid == 0 {
		return err
	}
	return p.stopPid(ctx, f, pid)
}

// Kill sends SIGKILL to the server's verified pid, with no SIGTERM
// first, and waits until it is gone (a zombie counts as gone). A stopped
// process (SIGSTOP) dies of SIGKILL without running again. A server
// that is not running is not an error.
func (p *Process) Kill(ctx context.Context) error {
	p.op.Lock()
	defer p.op.Unlock()
	if err := p.kill(ctx); err != nil {
		return fmt.Errorf("%s: kill: %w", p, err)
	}
	return nil
}

func (p *Process) kill(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, killGrace+DefaultCommandTimeout)
	defer cancel()
	f, err := p.files(ctx)
	if err != nil {
		return err
	}
	pid, err := p.serverPid(ctx, f)
	if err != nil || pid == 0 {
		return err
	}
	if sent, err := p.signal(ctx, pid, f, syscall.SIGKILL); err != nil || !sent {
		return err
	}
	dead, err := p.waitGone(ctx, f, pid, killGrace)
	if err != nil {
		return err
	}
	if !dead {
		return fmt.Errorf("pid %d still running %s after SIGKILL", pid, killGrace)
	}
	return nil
}

// Restart stops the server and starts it again. A stop that needed
// SIGKILL does not prevent the start, but its error is still returned
// (wrapping ErrKilled) once the server is running again.
func (p *Process) Restart(ctx context.Context) error {
	p.op.Lock()
	defer p.op.Unlock()
	stopErr := p.stop(ctx)
	if stopErr != nil && !errors.Is(stopErr, ErrKilled) {
		return fmt.Errorf("%s: restart: stop: %w", p, stopErr)
	}
	if err := p.start(ctx); err != nil {
		if stopErr != nil {
			return fmt.Errorf("%s: restart: stop: %v; start: %w", p, stopErr, err)
		}
		return fmt.Errorf("%s: restart: start: %w", p, err)
	}
	if stopErr != nil {
		return fmt.Errorf("%s: restart: running again, but stop: %w", p, stopErr)
	}
	return nil
}

// Pid is the pid of the running server (from its pid file, checked
// against /proc), 0 when it is not running.
func (p *Process) Pid(ctx context.Context) (int, error) {
	return p.pid(ctx, "pid")
}

func (p *Process) pid(ctx context.Context, op string) (int, error) {
	ctx, cancel := withDefaultTimeout(ctx, DefaultCommandTimeout)
	defer cancel()
	f, err := p.files(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", p, op, err)
	}
	pid, err := p.serverPid(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", p, op, err)
	}
	return pid, nil
}

// termResend is how often Stop repeats SIGTERM while it waits.
const termResend = 3 * time.Second

// stopPid stops one verified server: SIGTERM, wait, SIGKILL.
func (p *Process) stopPid(ctx context.Context, f serverFiles, pid int) error {
	sent, err := p.signal(ctx, pid, f, syscall.SIGTERM)
	if err != nil || !sent {
		return err
	}
	// SIGTERM is sent again every few seconds while we wait: a server
	// signalled while it was still starting up was once seen to sit out a
	// whole minute under load, and a repeated SIGTERM is harmless to one
	// that is already shutting down.
	deadline := time.Now().Add(p.o.StopGrace)
	for {
		wait := min(termResend, time.Until(deadline))
		exited, err := p.waitGone(ctx, f, pid, wait)
		if exited || err != nil {
			return err
		}
		if !time.Now().Before(deadline) {
			break
		}
		if _, err := p.signal(ctx, pid, f, syscall.SIGTERM); err != nil {
			return err
		}
	}
	if _, err := p.signal(ctx, pid, f, syscall.SIGKILL); err != nil {
		return err
	}
	dead, err := p.waitGone(ctx, f, pid, killGrace)
	if err != nil {
		return err
	}
	if !dead {
		return fmt.Errorf("pid %d still running %s after SIGKILL", pid, killGrace)
	}
	return fmt.Errorf("pid %d still running %s after SIGTERM: %w", pid, p.o.StopGrace, ErrKilled)
}

// waitGone polls until pid is no longer a live server of p (exited, a
// zombie, or reaped), for at most d.
func (p *Process) waitGone(ctx context.Context, f serverFiles, pid int, d time.Duration) (bool, error) {
	interval := 20 * time.Millisecond
	if _, ok := p.host.(localHost); !ok {
		interval = 200 * time.Millisecond // each check is two ssh round trips
	}
	deadline := time.Now().Add(d)
	for {
		ok, err := p.isServer(ctx, pid, f)
		if err != nil && ctx.Err() == nil {
			return false, err
		}
		if err == nil && !ok {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		if err := sleep(ctx, min(interval, max(time.Until(deadline), time.Millisecond))); err != nil {
			return false, fmt.Errorf("waiting for pid %d to exit (still shutting down): %w", pid, err)
		}
	}
}

func (p *Process) Run(ctx context.Context, argv []string) ([]byte, error) {
	out, err := p.host.Run(ctx, argv)
	if err != nil {
		return out, fmt.Errorf("%s: run: %w", p, err)
	}
	return out, nil
}

func (p *Process) RunStream(ctx context.Context, argv []string, stdin io.Reader, stdout io.Writer) error {
	if err := p.host.RunStream(ctx, argv, stdin, stdout); err != nil {
		return fmt.Errorf("%s: run: %w", p, err)
	}
	return nil
}

func (p *Process) ReadFile(ctx context.Context, path string) ([]byte, error) {
	b, err := p.host.ReadFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%s: read file: %w", p, err)
	}
	return b, nil
}

func (p *Process) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	if err := p.host.WriteFile(ctx, path, data, mode); err != nil {
		return fmt.Errorf("%s: write file: %w", p, err)
	}
	return nil
}
