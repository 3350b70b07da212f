package machine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// maxStderr is how much of a command's standard error an error keeps: the
// end, where the reason usually is.
const maxStderr = 4096

// CommandError is a command that could not run, exited non-zero, or was
// stopped by its context.
type CommandError struct {
	Argv     []string // the command as asked for (the remote one for ssh)
	Via      string   // "ssh" when it ran through ssh, "" when local
	ExitCode int      // -1 when it did not exit by itself
	Stderr   string   // the end of its standard error, trimmed
	Err      error    // the *exec.ExitError, context error, or start error
}

func (e *CommandError) Error() string {
	var b strings.Builder
	b.WriteString(QuoteCommand(e.Argv))
	b.WriteString(": ")
	if e.Via == "ssh" && e.ExitCode == 255 {
		// ssh exits 255 for its own errors (refused, host key, auth) and
		// passes the remote command's code on otherwise.
		b.WriteString("ssh failed (exit 255)")
	} else {
		b.WriteString(e.Err.Error())
	}
	if e.Stderr != "" {
		b.WriteString(": ")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

func (e *CommandError) Unwrap() error { return e.Err }

// command is one process to run on this computer.
type command struct {
	argv    []string // what runs here (ssh and its arguments for a remote command)
	display []string // what errors show (the remote command)
	via     string
	stdin   []byte
}

// run runs c bounded by ctx (DefaultCommandTimeout when ctx has no
// deadline) and returns its standard output.
func (c command) run(ctx context.Context) ([]byte, error) {
	ctx, cancel := withDefaultTimeout(ctx, DefaultCommandTimeout)
	defer cancel()
	var stdout bytes.Buffer
	var stdin io.Reader
	if c.stdin != nil {
		stdin = bytes.NewReader(c.stdin)
	}
	err := c.execute(ctx, stdin, &stdout, nil)
	return stdout.Bytes(), err
}

// execute runs c; started, when set, is called once Start has returned,
// with whether it succeeded.
func (c command) execute(ctx context.Context, stdin io.Reader, stdout io.Writer, started func(ok bool)) error {
	if len(c.argv) == 0 || c.argv[0] == "" {
		if started != nil {
			started(false)
		}
		return errors.New("empty command")
	}
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	// A tool streaming gigabytes may log a line per file: keep the end.
	stderr := &tailWriter{max: 16 * maxStderr}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	// On cancel, kill the command's whole process group: a shell script's
	// own children (a hung sleep, a pager) would otherwise keep our pipes
	// open. A background process it leaves on purpose (a server started
	// over ssh) detaches from our pipes; WaitDelay bounds the rest.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Start()
	if started != nil {
		started(err == nil)
	}
	if err == nil {
		err = cmd.Wait()
	}
	if err == nil {
		return nil
	}
	ce := &CommandError{Argv: c.display, Via: c.via, ExitCode: -1, Stderr: tailString(stderr.String(), maxStderr), Err: err}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok && ee.Exited() {
		ce.ExitCode = ee.ExitCode()
	}
	if ctx.Err() != nil {
		// "signal: killed" alone would not say why: keep the context's
		// error first so that errors.Is(err, context.DeadlineExceeded).
		ce.Err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return ce
}

// tailWriter keeps the last max bytes written to it. exec writes a
// command's stderr from one goroutine; it is read after Wait, which waits
// for that goroutine (stderr is never a blocking reader of ours).
type tailWriter struct {
	buf []byte
	max int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string { return string(t.buf) }

// tailString is the end of s, at most n bytes, trimmed of blank space.
func tailString(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// LastLines returns the last n non-empty lines of text, for error
// messages that quote a server's log or a tool's output.
func LastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			out = append(out, lines[i])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return strings.Join(out, "\n")
}
