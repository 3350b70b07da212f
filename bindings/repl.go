package bindings

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// ErrInterrupted is what a LineReader returns when the user pressed Ctrl-C
// at a prompt. It is also the cause of an evaluation's context when the
// user interrupted it, so that messages say "interrupted".
var ErrInterrupted = errors.New("interrupted")

// LineReader is the terminal side of the REPL: cmd/replicant-lua adapts
// a line editor to it, tests feed it a slice. Prompt returns io.EOF when
// input ends (Ctrl-D) and ErrInterrupted for Ctrl-C.
type LineReader interface {
	Prompt(prompt string) (string, error)
	// AppendHistory receives each complete chunk once, lines joined by
	// "\n", whether it ran or did not compile (so it can be fixed).
	AppendHistory(chunk string)
}

// REPLOptions are what the caller decides about a session.
type REPLOptions struct {
	// Banner prints a greeting first; interactive sessions want it,
	// piped input does not.
	Banner bool
	// Interrupt, when set, is called as each evaluation starts with a
	// function that cancels that evaluation only; the function it
	// returns is called when the evaluation ends. The command hooks
	// SIGINT here, which bindings knows nothing of.
	Interrupt func(cancel func()) (stop func())
	// Width is the terminal's, for result tables: wider ones print
	// vertically. 0 means 80.
	Width int
}

const (
	replChunkName    = "stdin"
	promptFirst      = "> "
	promptContinue   = ">> "
	interruptHint    = "(use Ctrl-D or os.exit() to leave)"
	replBannerFormat = "replicant-lua %s — Lua 5.1; rep = require \"replicant\" is loaded; Ctrl-D to exit\n"
)

// REPL reads chunks from in, runs them and prints what expressions
// return, until in reports io.EOF (nil is returned), a chunk calls
// os.exit (an *ExitError), or ctx or the state's own context ends (their
// cause is returned). Results and print go to the state's Stdout, errors
// to its Stderr; an error in a chunk is reported and the session goes on.
func (s *State) REPL(ctx context.Context, in LineReader, opts REPLOptions) error {
	// rep is a REPL convenience only: playbooks spell out their require.
	s.L.SetGlobal("rep", s.L.GetGlobal("replicant"))
	// Each evaluation gets its own context; afterwards the state goes
	// back to the run's, as if the REPL had not been there.
	defer s.L.SetContext(s.ctx)
	if opts.Banner {
		fmt.Fprintf(s.cfg.Stdout, replBannerFormat, Version)
	}
	var pending []string
	for {
		if err := s.sessionErr(ctx); err != nil {
			return err
		}
		prompt := promptFirst
		if len(pending) > 0 {
			prompt = promptContinue
		}
		line, err := in.Prompt(prompt)
		switch {
		case errors.Is(err, ErrInterrupted):
			// Ctrl-C drops a half-typed chunk; on a fresh prompt it
			// would otherwise look like nothing happened.
			if len(pending) == 0 {
				fmt.Fprintln(s.cfg.Stdout, interruptHint)
			}
			pending = nil
			continue
		case errors.Is(err, io.EOF):
			if len(pending) > 0 {
				// Input ended inside a chunk: say why it never ran.
				if _, _, cerr := s.compileInput(pending); cerr != nil {
					s.printError(cerr.Error())
				}
			}
			return nil
		case err != nil:
			return err
		}
		if len(pending) == 0 && strings.TrimSpace(line) == "" {
			continue
		}
		if len(pending) == 0 {
			if handled, quit := s.replCommand(line); handled {
				if quit {
					return nil
				}
				continue
			}
		}
		// A chunk ending in \G prints its result set vertically, as in
		// the mysql client; \G is not Lua, so it is taken off first.
		evalOpts := opts
		if trimmed := strings.TrimRightFunc(line, unicode.IsSpace); strings.HasSuffix(trimmed, `\G`) {
			line = strings.TrimSuffix(trimmed, `\G`)
			evalOpts.Width = verticalWidth
		}
		pending = append(pending, line)
		fn, incomplete, cerr := s.compileInput(pending)
		if incomplete {
			continue
		}
		chunk := strings.Join(pending, "\n")
		in.AppendHistory(chunk)
		pending = nil
		if cerr != nil {
			s.printError(cerr.Error())
			continue
		}
		if err := s.evaluate(ctx, fn, evalOpts); err != nil {
			return err
		}
		if note := localNote(chunk); note != "" {
			fmt.Fprintln(s.cfg.Stderr, note)
		}
	}
}

// sessionErr says whether the session is over before the next prompt:
// os.exit, or the context ended (SIGTERM, --timeout).
func (s *State) sessionErr(ctx context.Context) error {
	switch {
	case s.exit != nil:
		return &ExitError{Code: *s.exit}
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case s.ctx.Err() != nil:
		return context.Cause(s.ctx)
	}
	return nil
}

// compileInput compiles the lines typed so far. As in Lua 5.3's REPL the
// chunk is first tried as an expression ("return " .. chunk) so that
// typing `1+1` shows 2, then as statements; "=expr" is Lua 5.1's
// spelling of the same and is only an expression. incomplete means the
// parser ran out of input, so the user should be asked for another line.
// A newline ends the text as it does in a file, so `x = 'abc` is an
// unfinished string (an error, as in lua) while an open [[ or { is not.
func (s *State) compileInput(lines []string) (fn *lua.LFunction, incomplete bool, err error) {
	src := strings.Join(lines, "\n") + "\n"
	if expr, ok := strings.CutPrefix(src, "="); ok {
		fn, err := s.L.Load(strings.NewReader("return "+expr), replChunkName)
		return fn, atEOF(err), compileError(err)
	}
	fn, exprErr := s.L.Load(strings.NewReader("return "+src), replChunkName)
	if exprErr == nil {
		return fn, false, nil
	}
	fn, stmtErr := s.L.Load(strings.NewReader(src), replChunkName)
	if stmtErr == nil {
		return fn, false, nil
	}
	// Either reading may be the one the user is in the middle of:
	// `function f(x)` is unfinished statements, `{` an unfinished
	// expression. The statement error is the one to report: its
	// columns are the user's, without the "return " we added.
	return nil, atEOF(exprErr) || atEOF(stmtErr), compileError(stmtErr)
}

// atEOF tells an unfinished chunk from a wrong one. gopher-lua v1.1.2's
// parser reports both as a *parse.Error; for input that ended early its
// position is parse.EOF and the message reads "stdin at EOF:   syntax
// error" (or "unterminated multiline string", "invalid multiline
// comment"), while a real mistake names a line: "stdin line:1(column:5)
// near '=':   syntax error". The position is checked, not the text.
// ApiError has no Unwrap, so its Cause is read directly.
func atEOF(err error) bool {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Cause != nil {
		err = apiErr.Cause
	}
	var perr *parse.Error
	return errors.As(err, &perr) && perr.Pos.Line == parse.EOF
}

func compileError(err error) error {
	if err == nil {
		return nil
	}
	return &SyntaxError{Message: syntaxMessage(err, 0)}
}

// evaluate runs one chunk under a context of its own, derived from the
// state's (which os.exit cancels, so that it stops the VM even inside a
// pcall) and ended by ctx or by the interrupt hook. Only an os.exit or the
// end of the session is returned; a failing chunk is reported here.
func (s *State) evaluate(ctx context.Context, fn *lua.LFunction, opts REPLOptions) error {
	interrupt := opts.Interrupt
	evalCtx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	stopAfter := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	defer stopAfter()
	if interrupt != nil {
		stop := interrupt(func() { cancel(ErrInterrupted) })
		defer stop()
	}
	s.L.SetContext(evalCtx)
	base := s.L.GetTop()
	defer s.L.SetTop(base)
	s.L.Push(fn)
	err := s.evaluateProcedure(func() error { return s.L.PCall(0, lua.MultRet, nil) }, evalCtx)
	// os.exit caught by a pcall may still let the chunk finish: the
	// exit stands all the same.
	if s.exit != nil {
		return &ExitError{Code: *s.exit}
	}
	if err != nil {
		return nil
	}
	n := s.L.GetTop() - base
	vals := make([]lua.LValue, n)
	for i := range n {
		vals[i] = s.L.Get(base + 1 + i)
	}
	fmt.Fprint(s.cfg.Stdout, s.formatValues(vals, opts.Width))
	return nil
}

// formatValues is how the REPL (and -e) shows what a chunk returned: a
// result set as an aligned table (vertical when it is too wide for width
// columns), anything else as Pretty shows it, tab-separated; nothing for
// no values.
func (s *State) formatValues(vals []lua.LValue, width int) string {
	if width <= 0 {
		width = 80
	}
	if text, ok := s.resultTable(vals, width); ok {
		return text
	}
	if len(vals) == 0 {
		return ""
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = s.Pretty(v)
	}
	return strings.Join(parts, "\t") + "\n"
}

// ResultCount is how many values the chunks run so far returned.
func (s *State) ResultCount() int { return len(s.results) }

// FormatResults shows the values returned since the first from of them,
// as the REPL shows a chunk's values: -e 'return x' prints x.
func (s *State) FormatResults(from, width int) string {
	return s.formatValues(s.results[from:], width)
}

// evaluateProcedure runs a chunk as a procedure of its own: when it
// fails (an error, Ctrl-C, the session's end), the steps it registered are
// undone, each under a fresh deadline, and the report printed after the
// error. A chunk that succeeds keeps its changes.
func (s *State) evaluateProcedure(call func() error, evalCtx context.Context) error {
	if s.proc.Name == "" {
		s.proc.Name = "repl"
	}
	s.chunks++
	parent := s.proc
	child := parent.Begin(fmt.Sprintf("chunk %d", s.chunks))
	s.proc = child
	err := call()
	s.proc = parent
	var failure error
	if err != nil && (s.exit == nil || *s.exit != 0) { // os.exit(0) keeps the changes, as in a playbook
		failure = errors.New(s.runErrorMessage(err, evalCtx))
		s.printError(failure.Error())
	}
	undoErr := parent.End(child, failure)
	if failure != nil && len(child.Steps()) > 0 {
		report := "procedure steps:\n" + child.Report()
		if undoErr != nil {
			report += "Some undo failed; check those servers by hand.\n"
		}
		fmt.Fprint(s.cfg.Stderr, report)
	}
	return err
}

// runErrorMessage formats what a chunk raised: a string as is, an error
// object or any other value as Pretty shows it (error("x", 0) with a
// table must not read "table: 0xc000..."). When the evaluation was cut
// short, the VM's own message is "context canceled": the cause
// ("interrupted", "interrupted by terminated") replaces it.
func (s *State) runErrorMessage(err error, evalCtx context.Context) string {
	msg := err.Error()
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) {
		if str, ok := apiErr.Object.(lua.LString); ok {
			msg = string(str)
		} else {
			msg = s.Pretty(apiErr.Object)
		}
		msg = s.bundledPathsOut(msg)
		if s.cfg.Verbose && apiErr.StackTrace != "" {
			msg += "\n" + apiErr.StackTrace
		}
	}
	if evalCtx.Err() != nil {
		plain, cause := evalCtx.Err().Error(), context.Cause(evalCtx).Error()
		switch {
		case strings.Contains(msg, cause):
		case strings.Contains(msg, plain):
			msg = strings.Replace(msg, plain, cause, 1)
		default:
			msg += " (" + cause + ")"
		}
	}
	return msg
}

func (s *State) printError(msg string) {
	fmt.Fprintln(s.cfg.Stderr, msg)
}
