package bindings

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// ctrlC in a script stands for the user pressing Ctrl-C at that prompt.
const ctrlC = "\x03"

// scriptReader is a LineReader fed from a slice; it records the prompts
// it was shown and the history it was given.
type scriptReader struct {
	lines   []string
	prompts []string
	history []string
}

func (r *scriptReader) Prompt(p string) (string, error) {
	r.prompts = append(r.prompts, p)
	if len(r.lines) == 0 {
		return "", io.EOF
	}
	line := r.lines[0]
	r.lines = r.lines[1:]
	if line == ctrlC {
		return "", ErrInterrupted
	}
	return line, nil
}

func (r *scriptReader) AppendHistory(chunk string) { r.history = append(r.history, chunk) }

// replRun drives a fresh state's REPL through lines and returns what it
// printed to stdout and stderr, and what REPL returned.
func replRun(t *testing.T, opts REPLOptions, lines ...string) (stdout, stderr string, in *scriptReader, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	s := New(context.Background(), Config{Stdout: &out, Stderr: &errOut})
	t.Cleanup(s.Close)
	in = &scriptReader{lines: lines}
	err = s.REPL(context.Background(), in, opts)
	return out.String(), errOut.String(), in, err
}

func TestREPLPrintsExpressions(t *testing.T) {
	out, errOut, _, err := replRun(t, REPLOptions{},
		`1+1`,
		`=2*3`,
		`x = 5`,
		`x`,
		`t = {b=2, a={1,2}}`,
		`t`,
		`1, "a", nil`,
		`print("printed")`,
		`rep.version == replicant.version`,
		``,
		`return`,
	)
	if err != nil {
		t.Fatal(err)
	}
	want := "2\n6\n5\n{ a = { 1, 2 }, b = 2 }\n1\t\"a\"\tnil\nprinted\ntrue\n"
	if out != want || errOut != "" {
		t.Errorf("stdout:\n%s\nwant:\n%s\nstderr: %s", out, want, errOut)
	}
}

func TestREPLContinuesUnfinishedInput(t *testing.T) {
	out, errOut, in, err := replRun(t, REPLOptions{},
		`function f(x)`,
		`  return x*2`,
		`end`,
		`f(21)`,
		`t = {`,
		`  a = 1,`,
		`}`,
		`t.a`,
		`s = [[one`,
		`two]]`,
		`s`,
		`1 +`,
		`2`,
	)
	if err != nil {
		t.Fatal(err)
	}
	if want := "42\n1\n\"one\\ntwo\"\n3\n"; out != want || errOut != "" {
		t.Errorf("stdout:\n%s\nwant:\n%s\nstderr: %s", out, want, errOut)
	}
	wantPrompts := []string{"> ", ">> ", ">> ", "> ", "> ", ">> ", ">> ", "> ", "> ", ">> ", "> ", "> ", ">> ", "> "}
	if strings.Join(in.prompts, "|") != strings.Join(wantPrompts, "|") {
		t.Errorf("prompts %q, want %q", in.prompts, wantPrompts)
	}
	if in.history[0] != "function f(x)\n  return x*2\nend" || in.history[1] != "f(21)" {
		t.Errorf("history gets whole chunks: %q", in.history)
	}
}

func TestREPLReportsErrorsAndGoesOn(t *testing.T) {
	out, errOut, in, err := replRun(t, REPLOptions{},
		`x = = 1`,
		`x = 'abc`,
		`end`,
		`error("boom")`,
		`error({ code = 7 })`,
		`nosuch.field`,
		`"still here"`,
	)
	if err != nil {
		t.Fatal(err)
	}
	if out != "\"still here\"\n" {
		t.Errorf("stdout: %q", out)
	}
	for _, want := range []string{
		"stdin:1: syntax error near '='",
		"unterminated string",
		"near 'end'",
		"stdin:1: boom",
		"{ code = 7 }",
		"stdin:1: attempt to index a non-table object(nil)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if len(in.history) != 7 {
		t.Errorf("chunks that did not compile belong in the history too: %q", in.history)
	}
}

func TestREPLCtrlC(t *testing.T) {
	out, errOut, in, err := replRun(t, REPLOptions{},
		ctrlC,
		`function f(x)`,
		ctrlC,
		`x = 1`,
		`x`,
	)
	if err != nil {
		t.Fatal(err)
	}
	if out != interruptHint+"\n1\n" || errOut != "" {
		t.Errorf("stdout %q stderr %q", out, errOut)
	}
	if got := strings.Join(in.prompts, "|"); got != "> |> |>> |> |> |> " {
		t.Errorf("Ctrl-C on a continuation line should drop the chunk: prompts %q", got)
	}
}

func TestREPLOsExitEndsSession(t *testing.T) {
	for _, code := range []string{`os.exit(3)`, `pcall(os.exit, 3)`, `pcall(function() os.exit(3) end); print("not reached")`} {
		out, _, in, err := replRun(t, REPLOptions{}, code, `print("after")`)
		var exit *ExitError
		if !errors.As(err, &exit) || exit.Code != 3 {
			t.Errorf("%s: REPL returned %v", code, err)
		}
		if out != "" || len(in.lines) != 1 {
			t.Errorf("%s: session went on: stdout %q", code, out)
		}
	}
}

func TestREPLBanner(t *testing.T) {
	out, _, _, err := replRun(t, REPLOptions{Banner: true})
	if err != nil || !strings.HasPrefix(out, "replicant-lua "+Version+" — Lua 5.1; rep = require \"replicant\" is loaded") {
		t.Errorf("banner %q, err %v", out, err)
	}
}

func TestREPLUnfinishedAtEOF(t *testing.T) {
	_, errOut, _, err := replRun(t, REPLOptions{}, `function f()`)
	if err != nil || !strings.Contains(errOut, "stdin:1: syntax error at the end of the file") {
		t.Errorf("err %v stderr %q", err, errOut)
	}
}

// afterDelay is an interrupt hook that presses Ctrl-C 50ms into every
// evaluation, as a user would during a slow call.
func afterDelay(cancel func()) func() {
	timer := time.AfterFunc(50*time.Millisecond, cancel)
	return func() { timer.Stop() }
}

func TestREPLInterruptCancelsOneEvaluation(t *testing.T) {
	start := time.Now()
	out, errOut, _, err := replRun(t, REPLOptions{Interrupt: afterDelay},
		`rep.sleep("10s")`,
		`while true do end`,
		`print("alive")`,
		`rep.sleep("10ms"); print("slept")`,
	)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("interrupt did not stop the evaluations")
	}
	if out != "alive\nslept\n" {
		t.Errorf("stdout %q", out)
	}
	if strings.Count(errOut, "interrupted") != 2 {
		t.Errorf("each interrupted evaluation says so:\n%s", errOut)
	}
}

func TestREPLEndsWithItsContext(t *testing.T) {
	var out bytes.Buffer
	s := New(context.Background(), Config{Stdout: &out, Stderr: &out})
	defer s.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("terminated")
	in := &scriptReader{lines: []string{`x = 1`, `x`}}
	cancel(stop)
	if err := s.REPL(ctx, in, REPLOptions{}); !errors.Is(err, stop) {
		t.Errorf("REPL returned %v, want its context's cause", err)
	}
	// The state is usable afterwards, under its own context again.
	if err := s.RunString(`assert(rep ~= nil)`, "after.lua"); err != nil {
		t.Error(err)
	}
}
