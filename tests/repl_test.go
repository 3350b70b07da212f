package tests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// patience bounds every wait on the terminal, so a REPL that hangs fails
// the test instead of the whole run. It is not a performance assertion.
const patience = 20 * time.Second

// ptySession is the binary running on a pseudo-terminal, as a person at a
// terminal would run it: liner only edits lines on a real terminal.
type ptySession struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer // everything the program wrote
	seen int          // how far expect has matched in the cleaned output
	eof  chan struct{}
	code int
}

func startPTY(t *testing.T, env []string, args ...string) *ptySession {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "TERM=xterm", "XDG_STATE_HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	// liner falls back to dumb line reading on a 0x0 terminal.
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatalf("starting replicant-lua on a pty: %v", err)
	}
	s := &ptySession{t: t, cmd: cmd, tty: tty, eof: make(chan struct{}), code: -1}
	go s.read()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = tty.Close()
		<-s.eof
	})
	return s
}

func (s *ptySession) read() {
	defer close(s.eof)
	buf := make([]byte, 4096)
	for {
		n, err := s.tty.Read(buf)
		s.mu.Lock()
		s.out.Write(buf[:n])
		s.mu.Unlock()
		if err != nil { // EIO once the program has exited
			return
		}
	}
}

// ansi matches the escape sequences liner uses to redraw the line.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

func (s *ptySession) cleaned() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.ReplaceAll(ansi.ReplaceAllString(s.out.String(), ""), "\r", "")
}

func (s *ptySession) send(keys string) {
	s.t.Helper()
	if _, err := s.tty.Write([]byte(keys)); err != nil {
		s.t.Fatalf("typing %q: %v", keys, err)
	}
}

// expect waits until want appears in the output after what the previous
// expect matched.
func (s *ptySession) expect(want string) {
	s.t.Helper()
	if !s.waitFor(want, patience) {
		s.t.Fatalf("never saw %q; the terminal shows:\n%s", want, s.cleaned())
	}
}

func (s *ptySession) waitFor(want string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		out := s.cleaned()
		if i := strings.Index(out[s.seen:], want); i >= 0 {
			s.seen += i + len(want)
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// result types a line and waits for the line it prints.
func (s *ptySession) result(line, want string) {
	s.t.Helper()
	s.send(line + "\r")
	s.expect("\n" + want + "\n")
}

// ctrlC presses Ctrl-C until the REPL shows it noticed. A key pressed in
// the instant between the prompt being drawn and liner switching the
// terminal to raw mode becomes a SIGINT, which the REPL drops at a
// prompt; pressing again is what a person would do.
func (s *ptySession) ctrlC(sign string) {
	s.t.Helper()
	for range 50 {
		s.send("\x03")
		if s.waitFor(sign, 200*time.Millisecond) {
			return
		}
	}
	s.t.Fatalf("Ctrl-C never showed %q:\n%s", sign, s.cleaned())
}

// exitCode waits for the program to end.
func (s *ptySession) exitCode() int {
	s.t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			s.t.Fatalf("waiting for replicant-lua: %v", err)
		}
		return 0
	case <-time.After(patience):
		s.t.Fatalf("replicant-lua did not exit; the terminal shows:\n%s", s.cleaned())
	}
	return -1
}

func TestREPLOnTerminal(t *testing.T) {
	s := startPTY(t, nil, "repl")
	s.expect(`Lua 5.1; rep = require "replicant" is loaded; Ctrl-D to exit`)
	s.result("1+1", "2")
	s.send("t = {b=2, a={1,2}}\r")
	s.result("t", "{ a = { 1, 2 }, b = 2 }")
	s.send("function f(x)\r")
	s.expect(">> ")
	s.send("return x*2\r")
	s.expect(">> ")
	s.send("end\r")
	s.result("f(21)", "42")
	s.send(`error("boom")` + "\r")
	s.expect("stdin:1: boom\n")
	s.result(`"still " .. "here"`, `"still here"`)
	s.result("rep.null", "null")
	s.send("os.exit(3)\r")
	if code := s.exitCode(); code != 3 {
		t.Errorf("os.exit(3) ended the REPL with %d", code)
	}
}

func TestREPLCtrlKeys(t *testing.T) {
	s := startPTY(t, nil, "repl")
	s.result(`print("ready")`, "ready")
	s.ctrlC("(use Ctrl-D or os.exit() to leave)")

	// Ctrl-C on a continuation line drops the unfinished chunk.
	s.send("function g()\r")
	s.expect(">> ")
	s.ctrlC("^C")
	s.result("g == nil", "true")

	// Ctrl-C while a chunk runs ends that chunk only, whether it waits
	// in Go or loops in Lua.
	s.send(`print("sleeping"); rep.sleep("60s")` + "\r")
	s.expect("sleeping\n")
	s.ctrlC("interrupted")
	s.result("1+2", "3")
	s.send(`print("spinning"); while true do end` + "\r")
	s.expect("spinning\n")
	s.ctrlC("interrupted")
	s.result("2+2", "4")

	s.send("\x04")
	if code := s.exitCode(); code != 0 {
		t.Errorf("Ctrl-D ended the REPL with %d", code)
	}
}

func TestREPLIsTheDefaultOnATerminal(t *testing.T) {
	s := startPTY(t, nil)
	s.expect("Ctrl-D to exit")
	s.result("rep.version", strconv.Quote(moduleVersion(t)))
	s.send("\x04")
	if code := s.exitCode(); code != 0 {
		t.Errorf("Ctrl-D ended the REPL with %d", code)
	}
}

func TestREPLHistoryPersists(t *testing.T) {
	state := t.TempDir()
	env := []string{"XDG_STATE_HOME=" + state}
	s := startPTY(t, env, "repl")
	s.result("6*7", "42")
	s.send("function h(x)\r  return x + 1\rend\r")
	s.result("h(1)", "2")
	s.send("\x04")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	hist, err := os.ReadFile(filepath.Join(state, "replicant-lua", "history"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "6*7\nfunction h(x) return x + 1 end\nh(1)\n"; string(hist) != want {
		t.Errorf("history file:\n%s\nwant:\n%s", hist, want)
	}

	// A new session recalls it: Up twice is the function, then h(1).
	s = startPTY(t, env, "repl")
	s.expect("Ctrl-D to exit")
	s.send("\x1b[A\x1b[A\r")
	s.send("\x1b[A\x1b[A\r")
	s.expect("\n2\n")
	s.send("\x04")
	s.exitCode()
}

func TestREPLEndsOnSIGTERMAtThePrompt(t *testing.T) {
	s := startPTY(t, nil, "repl")
	s.result(`print("ready")`, "ready")
	s.expect("> ")
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s.exitCode(); code != 1 {
		t.Errorf("SIGTERM at the prompt: exit %d, want 1", code)
	}
	s.expect("interrupted by terminated")
}

func TestREPLReadsPipedInput(t *testing.T) {
	r := run(t, "1+1\nx = 5\nfunction f(n)\n  return n * x\nend\nf(2)\nerror('boom')\n=x\n", nil, "repl")
	if r.code != 0 || r.stdout != "2\n10\n5\n" || !strings.Contains(r.stderr, "stdin:1: boom") {
		t.Errorf("exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, "print('a')\nos.exit(4)\nprint('b')\n", nil, "repl")
	if r.code != 4 || r.stdout != "a\n" {
		t.Errorf("os.exit: exit %d, stdout %q", r.code, r.stdout)
	}
}

// A deployment's prompt "question" secret is typed at the terminal without
// echo, and the run logs in with it.
func TestDeploymentPromptOnTerminal(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	dep := filepath.Join(t.TempDir(), "prompted.lua")
	src := fmt.Sprintf(`return {
  user = { name = %q, password = prompt "password for %s" },
  servers = { db1 = { host = "127.0.0.1", port = %d } },
}`, sb.User.Name, sb.User.Name, sb.Primary().Port)
	if err := os.WriteFile(dep, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startPTY(t, nil, "-d", dep, "-e", `print("logged in as " .. replicant.server("db1"):query_row("SELECT CURRENT_USER() AS u").u)`)
	s.expect("password for " + sb.User.Name + ": ")
	s.send(pw + "\r")
	s.expect("logged in as " + sb.User.Name + "@")
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit %d:\n%s", code, s.cleaned())
	}
	if strings.Contains(s.cleaned(), pw) {
		t.Errorf("the typed password was echoed:\n%s", s.cleaned())
	}
	// Not on a terminal: the deployment is refused with the reason.
	r := run(t, "", nil, "-d", dep, "-e", "print(1)")
	if r.code != 2 || !strings.Contains(r.stderr, `prompt "password for `+sb.User.Name+`": no terminal to ask on`) {
		t.Errorf("without a terminal: exit %d: %s", r.code, r.stderr)
	}
}

// The mysqlsh-like parts on a real terminal against a real server: tab
// completion of module fields and server methods, \help, a SELECT as an
// aligned table, history without secrets, \quit.
func TestREPLOperatorFeatures(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	state := t.TempDir()
	s := startPTY(t, []string{"XDG_STATE_HOME=" + state}, "-d", sb.DeploymentPath, "repl")
	s.expect("Ctrl-D to exit")

	// rep.se<TAB> completes to the first of rep.server(, rep.servers(;
	// typing goes on from the completed text.
	s.send("db = rep.se\t")
	s.expect("db = rep.server(")
	s.send(`"db1")` + "\r")
	s.send("db:replica_st\t")
	s.expect("db:replica_status(")
	s.result(")", "nil")

	s.send(`\help` + "\r")
	s.expect(`\quit, \q, exit, quit`)

	s.send(`db:sql("SELECT 1 AS id, 'a' AS note UNION ALL SELECT 22, NULL")` + "\r")
	s.expect("+----+------+\n| id | note |\n+----+------+\n| 1  | a    |\n| 22 | NULL |\n+----+------+\n2 rows in set\n")

	s.send("local n = 5\r")
	s.expect("note: local n lasts for this line only")

	s.result(`secret = "x" -- CREATE USER u IDENTIFIED BY 'hunter2'`+"\r"+`print("typed")`, "typed")
	s.result(`print("Password" .. "ok")`, "Passwordok")
	s.result(`print("kept")`, "kept")
	s.send(`\quit` + "\r")
	if code := s.exitCode(); code != 0 {
		t.Fatalf(`\quit: exit %d`, code)
	}
	hist, err := os.ReadFile(filepath.Join(state, "replicant-lua", "history"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "IDENTIFIED", "Password"} {
		if strings.Contains(string(hist), secret) {
			t.Errorf("history keeps %q:\n%s", secret, hist)
		}
	}
	if !strings.Contains(string(hist), `print("kept")`) || !strings.Contains(string(hist), `db:sql("SELECT 1 AS id`) {
		t.Errorf("history lacks the harmless lines:\n%s", hist)
	}
}

// A chunk that registers a step and then fails gets the step undone, in
// the real binary on a terminal: the fence's read_only goes back, as a
// separate connection sees.
func TestREPLUndoesAFailedChunk(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	readOnly := func() string {
		t.Helper()
		r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `print("read_only=" .. tostring(replicant.server("db1"):variable("read_only")))`)
		if r.code != 0 {
			t.Fatalf("reading read_only: exit %d: %s", r.code, r.stderr)
		}
		return strings.TrimSpace(r.stdout)
	}
	if got := readOnly(); got != "read_only=0" {
		t.Fatalf("before: %s", got)
	}
	s := startPTY(t, nil, "-d", sb.DeploymentPath, "repl")
	s.expect("Ctrl-D to exit")
	s.send(`db = rep.server("db1"); rep.step("fence db1", function() db:set_read_only(true) end, function() db:set_read_only(false) end); ` +
		`print("fenced read_only=" .. tostring(db:variable("read_only"))); error("after the fence")` + "\r")
	s.expect("fenced read_only=1\n")
	s.expect("after the fence")
	s.expect("fence db1")
	s.result(`print("back at the prompt")`, "back at the prompt")
	if got := readOnly(); got != "read_only=0" {
		t.Errorf("after the failed chunk: %s; the terminal shows:\n%s", got, s.cleaned())
	}
	s.send("exit\r")
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit: %d", code)
	}
}
