package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// Kill ends the server with SIGKILL, as a crash would, and waits until
// its port refuses connections. It stays dead until Restart; Undo does
// not bring it back.
func (f *Injector) Kill(ctx context.Context, name string) error {
	in, err := f.instance(name)
	if err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	if err := KillServer(ctx, in); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	f.mu.Lock()
	f.pids[name], f.killed[name] = 0, true
	f.mu.Unlock()
	// A dead server is no longer paused, and comes back with its option
	// file's max_connections.
	f.drop("pause "+name, "max_connections "+name)
	return nil
}

// KillServer ends a sandbox server with SIGKILL after checking that its
// pid is a server (pids get recycled), and waits until its port refuses.
// A server that this process started is reaped by its machine; the
// kernel closes its sockets at once either way.
func KillServer(ctx context.Context, in sandbox.Instance) error {
	if err := signal(in, syscall.SIGKILL); err != nil {
		return err
	}
	ctx, cancel := bounded(ctx)
	defer cancel()
	for {
		c, err := (&net.Dialer{Timeout: 200 * time.Millisecond}).DialContext(ctx, "tcp", in.Addr())
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s still accepts connections after SIGKILL: %w", in, ctx.Err())
			}
			return nil
		}
		c.Close()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s still accepts connections after SIGKILL: %w", in, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// signal sends sig to the server of in once /proc says its pid is a
// mariadbd or mysqld: never to a recycled pid.
func signal(in sandbox.Instance, sig syscall.Signal) error {
	if in.Pid <= 0 {
		return fmt.Errorf("%s is not running", in)
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(in.Pid) + "/cmdline")
	if err != nil {
		return fmt.Errorf("%s: pid %d: %w", in, in.Pid, err)
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	if !bytes.Contains(argv0, []byte("mariadbd")) && !bytes.Contains(argv0, []byte("mysqld")) {
		return fmt.Errorf("%s: pid %d is not its server: %q", in, in.Pid, argv0)
	}
	if err := syscall.Kill(in.Pid, sig); err != nil {
		return fmt.Errorf("%s: pid %d: %w", in, in.Pid, err)
	}
	return nil
}

// ServerRunning reports whether pid is a live server process: not gone,
// not a zombie, and still mariadbd or mysqld (a process being killed
// shows an empty command line before it becomes a zombie).
func ServerRunning(pid int) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil || bytes.Contains(stat, []byte(") Z ")) {
		return false
	}
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	return bytes.Contains(argv0, []byte("mariadbd")) || bytes.Contains(argv0, []byte("mysqld"))
}

// Pause stops the server with SIGSTOP: its port still accepts
// connections (the kernel completes the handshake) and nothing answers,
// as a hung server. Undo or Resume sends SIGCONT.
func (f *Injector) Pause(name string) error {
	in, err := f.instance(name)
	if err != nil {
		return fmt.Errorf("pause %s: %w", name, err)
	}
	if err := signal(in, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("pause %s: %w", name, err)
	}
	pid := in.Pid
	f.push(undoEntry{key: "pause " + name, fault: "pause", server: name, undo: func(context.Context) error {
		if !ServerRunning(pid) {
			return nil // stopped meanwhile, by a playbook's fence: nothing left to resume
		}
		in.Pid = pid
		return signal(in, syscall.SIGCONT)
	}})
	return nil
}

// Resume lets a paused server run again (SIGCONT); resuming a server
// that runs is not an error.
func (f *Injector) Resume(name string) error {
	in, err := f.instance(name)
	if err != nil {
		return fmt.Errorf("resume %s: %w", name, err)
	}
	if err := signal(in, syscall.SIGCONT); err != nil {
		return fmt.Errorf("resume %s: %w", name, err)
	}
	f.drop("pause " + name)
	return nil
}

// Restart restarts the server through the sandbox's machine, as a
// playbook's db:restart() would; a killed server is started. A paused
// one is resumed first, or its stop would wait out the grace period.
// The new pid is recorded here, in the Sandbox and in sandbox.json.
func (f *Injector) Restart(ctx context.Context, name string) error {
	in, err := f.instance(name)
	if err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	if f.has("pause " + name) {
		if err := signal(in, syscall.SIGCONT); err != nil {
			return fmt.Errorf("restart %s: resume: %w", name, err)
		}
		f.drop("pause " + name)
	}
	got, err := sandbox.Control(ctx, f.sb.Dir, name, sandbox.ActionRestart)
	if err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	f.mu.Lock()
	f.pids[name] = got.Pid
	delete(f.killed, name)
	for i := range f.sb.Instances {
		if f.sb.Instances[i].Name == name {
			f.sb.Instances[i].Pid = got.Pid
		}
	}
	f.mu.Unlock()
	// The server reads max_connections from its option file again.
	f.drop("max_connections " + name)
	return nil
}
