package machine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// process is what /proc says of one pid.
type process struct {
	state byte     // 'R', 'S', 'Z', …
	argv  []string // empty for a zombie
}

// readProcess reads /proc/PID on h; ok is false when there is no such
// process.
func readProcess(ctx context.Context, h Host, pid int) (proc process, ok bool, err error) {
	if _, local := h.(localHost); !local {
		return readRemoteProcess(ctx, h, pid)
	}
	stat, err := h.ReadFile(ctx, fmt.Sprintf("/proc/%d/stat", pid))
	if gone(err) {
		return proc, false, nil
	}
	if err != nil {
		return proc, false, err
	}
	cmdline, err := h.ReadFile(ctx, fmt.Sprintf("/proc/%d/cmdline", pid))
	if gone(err) {
		return proc, false, nil // it exited between the two reads
	}
	if err != nil {
		return proc, false, err
	}
	return parseProcess(pid, stat, cmdline)
}

// readRemoteProcess reads both files in one command: each ssh connection
// costs a handshake, and the login shell's start-up files.
func readRemoteProcess(ctx context.Context, h Host, pid int) (process, bool, error) {
	script := fmt.Sprintf("cd /proc/%d 2>/dev/null || exit %d; exec cat stat cmdline", pid, notFoundCode)
	out, err := h.Run(ctx, []string{"sh", "-c", script})
	if ce, ok := errors.AsType[*CommandError](err); ok && ce.ExitCode == notFoundCode {
		return process{}, false, nil
	}
	if err != nil {
		if ctx.Err() == nil && bytes.Contains(out, []byte{')'}) {
			return process{}, false, nil // it exited between the two reads
		}
		return process{}, false, err
	}
	// stat is one line; cmdline has no newline of its own at the end.
	stat, cmdline, _ := bytes.Cut(out, []byte{'\n'})
	return parseProcess(pid, stat, cmdline)
}

func parseProcess(pid int, stat, cmdline []byte) (process, bool, error) {
	var proc process
	// The command name in parentheses may itself hold ") ": the state
	// letter follows the last one.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return proc, false, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, stat)
	}
	proc.state = stat[i+2]
	if s := strings.TrimRight(string(cmdline), "\x00"); s != "" {
		proc.argv = strings.Split(s, "\x00")
	}
	return proc, true, nil
}

// exited is true for a zombie ('Z': it has exited, only its parent has
// not collected it yet, and kill -0 still succeeds on it) or a dying
// process ('X').
func (p process) exited() bool { return p.state == 'Z' || p.state == 'X' }

// isServer reports whether pid is, right now, a live server of p. Pids
// are recycled, so a pid from a file is only trusted when its command line
// names mariadbd (or mysqld, or our binary) run with our option file or
// our datadir. A program that merely mentions them is not a server.
func (p *Process) isServer(ctx context.Context, pid int, f serverFiles) (bool, error) {
	if pid <= 0 {
		return false, nil
	}
	proc, ok, err := readProcess(ctx, p.host, pid)
	if err != nil || !ok || proc.exited() || len(proc.argv) == 0 {
		return false, err
	}
	exe := filepath.Base(proc.argv[0])
	if !strings.HasPrefix(exe, "mariadbd") && !strings.HasPrefix(exe, "mysqld") && exe != filepath.Base(p.o.Binary) {
		return false, nil
	}
	for _, a := range proc.argv[1:] {
		if a == "--defaults-file="+p.o.DefaultsFile || (f.dataDir != "" && a == "--datadir="+f.dataDir) {
			return true, nil
		}
	}
	return false, nil
}

// readPid reads a pid file; 0 when there is none or it holds no number yet
// (the server may be writing it).
func readPid(ctx context.Context, h Host, path string) (int, error) {
	b, err := h.ReadFile(ctx, path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, nil
	}
	return pid, nil
}

// signal sends sig to pid if it is still a server of p; sent is false when
// it is not (gone, or the pid now belongs to someone else).
func (p *Process) signal(ctx context.Context, pid int, f serverFiles, sig syscall.Signal) (sent bool, err error) {
	if _, ok := p.host.(localHost); ok {
		return p.signalLocal(ctx, pid, f, sig)
	}
	if ok, err := p.isServer(ctx, pid, f); !ok || err != nil {
		return false, err
	}
	// Between the check and kill the pid could be recycled; with a server
	// that is shutting down only, the window is one ssh round trip.
	name := strings.TrimPrefix(sigName(sig), "SIG")
	if _, err := p.host.Run(ctx, []string{"kill", "-s", name, strconv.Itoa(pid)}); err != nil {
		if ok, _ := p.isServer(ctx, pid, f); !ok {
			return false, nil // it exited meanwhile
		}
		return false, err
	}
	return true, nil
}

// signalLocal holds the process by a pidfd (os.FindProcess on Linux)
// before it checks /proc, so that the signal reaches the process that was
// checked even if the pid is recycled in between.
func (p *Process) signalLocal(ctx context.Context, pid int, f serverFiles, sig syscall.Signal) (bool, error) {
	proc, err := os.FindProcess(pid)
	if err != nil {
		return false, nil
	}
	defer proc.Release()
	if ok, err := p.isServer(ctx, pid, f); !ok || err != nil {
		return false, err
	}
	err = proc.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s to pid %d: %w", sigName(sig), pid, err)
	}
	return true, nil
}

func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return sig.String()
}

// gone reports whether reading a /proc file failed because the process
// is gone: ENOENT once the directory is removed, ESRCH when it was reaped
// between the open and the read.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}
