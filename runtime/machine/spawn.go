package machine

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tailLines is how much of a log a failed start shows.
const tailLines = 20

// serverArgv is the server's command line. --defaults-file must be the
// first option: mariadbd ignores it anywhere else.
func (p *Process) serverArgv(f serverFiles) []string {
	argv := []string{p.o.Binary, "--defaults-file=" + p.o.DefaultsFile}
	if f.passPid {
		argv = append(argv, "--pid-file="+f.pidFile)
	}
	return append(argv, p.o.Args...)
}

// spawn starts the server and returns its pid. exited is closed when a
// local server has exited and been reaped; it is nil for a remote one.
func (p *Process) spawn(ctx context.Context, f serverFiles) (int, <-chan struct{}, error) {
	argv := p.serverArgv(f)
	if _, ok := p.host.(localHost); ok {
		return p.spawnLocal(argv, f)
	}
	pid, err := p.spawnRemote(ctx, argv, f)
	return pid, nil, err
}

// spawnLocal starts the server with its stdout and stderr in the console
// log, never on our terminal. A goroutine reaps it, so that a server that
// dies does not stay a zombie of ours, and Stop can tell it has gone.
func (p *Process) spawnLocal(argv []string, f serverFiles) (int, <-chan struct{}, error) {
	console, err := os.OpenFile(f.consoleLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return 0, nil, fmt.Errorf("console log: %w", err)
	}
	defer console.Close()
	// Not CommandContext: the server must outlive the context of Start.
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/" // keep no directory busy; mariadbd changes to its datadir
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: p.o.Detach}
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("%s: %w", QuoteCommand(argv), err)
	}
	exited := make(chan struct{})
	c := &child{pid: cmd.Process.Pid, exited: exited}
	p.mu.Lock()
	p.child = c
	p.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		close(exited)
		p.mu.Lock()
		if p.child == c {
			p.child = nil
		}
		p.mu.Unlock()
	}()
	return c.pid, exited, nil
}

// spawnRemote starts the server in the background of a remote shell, in a
// session of its own (setsid) and with every standard stream redirected,
// so that the ssh session ends at once and its end does not touch the
// server. In a non-interactive shell a background job is not a process
// group leader, so setsid does not fork, execs the server, and $! is the
// server's pid.
func (p *Process) spawnRemote(ctx context.Context, argv []string, f serverFiles) (int, error) {
	script := fmt.Sprintf("cd / && setsid %s </dev/null >>%s 2>&1 & echo $!", QuoteCommand(argv), Quote(f.consoleLog))
	out, err := p.host.Run(ctx, []string{"sh", "-c", script})
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("starting %s: expected a pid from the remote shell, got %q", argv[0], out)
	}
	return pid, nil
}

// logMark is the size of the error and console logs before a start, so
// that a failed start shows what this start wrote, not an old failure.
type logMark map[string]int64

// markLogs records the logs' sizes; a log that cannot be measured counts
// from its beginning.
func (p *Process) markLogs(ctx context.Context, f serverFiles) logMark {
	m := logMark{}
	paths := f.logs()
	if _, ok := p.host.(localHost); ok {
		for _, path := range paths {
			if fi, err := os.Stat(path); err == nil {
				m[path] = fi.Size()
			}
		}
		return m
	}
	script := `for f; do if [ -f "$f" ]; then wc -c < "$f"; else echo 0; fi; done`
	out, err := p.host.Run(ctx, append([]string{"sh", "-c", script, "sh"}, paths...))
	sizes := strings.Fields(string(out))
	if err != nil || len(sizes) != len(paths) {
		return m
	}
	for i, path := range paths {
		if n, err := strconv.ParseInt(sizes[i], 10, 64); err == nil {
			m[path] = n
		}
	}
	return m
}

// logs lists the server's logs, the error log first: once open it says
// why a server failed; before that only the console has anything.
func (f serverFiles) logs() []string {
	if f.errorLog == "" || f.errorLog == f.consoleLog {
		return []string{f.consoleLog}
	}
	return []string{f.errorLog, f.consoleLog}
}

// logTail is the end of what this start wrote to the error log, or to the
// console when the error log got nothing: the file and its lines.
func (p *Process) logTail(ctx context.Context, f serverFiles, mark logMark) (string, string) {
	ctx, cancel := cleanupContext(ctx, 10*time.Second)
	defer cancel()
	for _, path := range f.logs() {
		text, err := p.tail(ctx, path, mark[path])
		if err == nil && strings.TrimSpace(text) != "" {
			return path, text
		}
	}
	return "", fmt.Sprintf("(this start wrote nothing to %s)", strings.Join(f.logs(), " or "))
}

// tail is the last tailLines lines of path from byte offset from on (from
// its start if it has shrunk since, rotated).
func (p *Process) tail(ctx context.Context, path string, from int64) (string, error) {
	if _, ok := p.host.(localHost); !ok {
		script := fmt.Sprintf(`n=$(wc -c < "$1") || exit; o=%d; [ "$n" -ge "$o" ] || o=0; tail -c +$((o+1)) -- "$1" | tail -n %d`, from, tailLines)
		out, err := p.host.Run(ctx, []string{"sh", "-c", script, "sh", path})
		return strings.TrimRight(string(out), "\n"), err
	}
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return "", err
	}
	if fi.Size() < from {
		from = 0
	}
	// The last 64 KiB hold 20 lines of any sane log.
	from = max(from, fi.Size()-64<<10)
	b, err := io.ReadAll(io.NewSectionReader(fh, from, fi.Size()-from))
	if err != nil {
		return "", err
	}
	return LastLines(string(b), tailLines), nil
}
