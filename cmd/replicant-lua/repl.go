package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/peterh/liner"
	"golang.org/x/term"

	"github.com/replicant-lua/replicant-lua/bindings"
)

// runREPL is the interactive session. The Lua side (compile, continue,
// evaluate, print) is bindings.State.REPL; this file owns the terminal
// and the signals, which bindings knows nothing of.
//
// Signals. dispatch installs no handler for the REPL, so this one takes
// SIGINT and SIGTERM for the whole session and routes them:
//   - At a prompt on a terminal, liner keeps the terminal in raw mode
//     without ISIG, so Ctrl-C arrives as a key and liner returns
//     ErrPromptAborted: the pending chunk is dropped (bindings REPL).
//   - While a chunk runs, liner has put ISIG back, so Ctrl-C is a SIGINT:
//     it cancels that evaluation's context only (bindings derives one per
//     evaluation; rep.sleep, queries and the VM itself watch
//     L.Context()), and the session goes back to the prompt.
//   - SIGTERM, a SIGINT with piped input outside an evaluation, and
//     --timeout end the session: a running chunk stops through its
//     context, and a prompt blocked reading the terminal, which nothing
//     can unblock, is abandoned by exiting the process after the
//     terminal is restored.
func runREPL(ctx context.Context, st *bindings.State, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	in, interactive := newLineReader(stdin, stdout, st.Complete)
	ss := &session{in: in, ctx: ctx, cancel: cancel, interactive: interactive, stderr: stderr}
	defer in.Close()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go ss.routeSignals(sigs)
	stopWatch := context.AfterFunc(ctx, ss.abandonPrompt)
	defer stopWatch()

	width := 0
	if interactive {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			width = w
		}
	}
	err := st.REPL(ctx, ss, bindings.REPLOptions{Banner: interactive, Interrupt: ss.interruptible, Width: width})
	var exit *bindings.ExitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &exit):
		return exit.Code
	}
	fmt.Fprintln(stderr, "replicant-lua:", err)
	return exitFailed
}

// lineReader is a bindings.LineReader that holds the terminal.
type lineReader interface {
	bindings.LineReader
	// Close gives the terminal back and saves the history; it may be
	// called from another goroutine when the session is abandoned.
	Close()
}

// session sits between bindings.REPL and the line reader to know, when a
// signal comes, whether a chunk is running or a prompt is waiting.
type session struct {
	in          lineReader
	ctx         context.Context
	cancel      context.CancelCauseFunc
	interactive bool
	stderr      io.Writer

	mu         sync.Mutex
	evalCancel func() // set while a chunk runs
	prompting  bool
}

func (ss *session) Prompt(prompt string) (string, error) {
	ss.mu.Lock()
	if ss.ctx.Err() != nil {
		ss.mu.Unlock()
		return "", context.Cause(ss.ctx)
	}
	ss.prompting = true
	ss.mu.Unlock()
	line, err := ss.in.Prompt(prompt)
	ss.mu.Lock()
	ss.prompting = false
	ss.mu.Unlock()
	return line, err
}

func (ss *session) AppendHistory(chunk string) { ss.in.AppendHistory(chunk) }

// interruptible is bindings.REPLOptions.Interrupt: it makes SIGINT cancel
// the chunk that is running now.
func (ss *session) interruptible(cancel func()) (stop func()) {
	ss.mu.Lock()
	ss.evalCancel = cancel
	ss.mu.Unlock()
	return func() {
		ss.mu.Lock()
		ss.evalCancel = nil
		ss.mu.Unlock()
	}
}

// routeSignals runs until the session's context ends (runREPL cancels it
// on return).
func (ss *session) routeSignals(sigs <-chan os.Signal) {
	for {
		select {
		case sig := <-sigs:
			ss.mu.Lock()
			switch {
			case sig == syscall.SIGTERM:
				ss.cancel(fmt.Errorf("interrupted by %s", sig))
			case ss.evalCancel != nil:
				ss.evalCancel()
			case !ss.interactive:
				// Piped input has no prompt to go back to: Ctrl-C from the
				// terminal means stop, as it would for `run -`.
				ss.cancel(fmt.Errorf("interrupted by %s", sig))
			}
			// An interactive SIGINT between chunks (kill -INT, or a
			// Ctrl-C that lands just as a chunk ends) is dropped: the
			// user is at, or about to be at, a prompt.
			ss.mu.Unlock()
		case <-ss.ctx.Done():
			return
		}
	}
}

// abandonPrompt runs when the session's context ends. A chunk that is
// running stops by itself and bindings.REPL returns; a prompt cannot be
// unblocked, so the process ends here, with the terminal restored first.
func (ss *session) abandonPrompt() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if !ss.prompting {
		return
	}
	ss.in.Close()
	fmt.Fprintln(ss.stderr, "\nreplicant-lua:", context.Cause(ss.ctx))
	os.Exit(exitFailed)
}

// newLineReader picks liner when both ends are the terminal (liner reads
// os.Stdin and writes os.Stdout itself, whatever we were given), and a
// plain line reader otherwise: piped input, for scripts and tests, gets no
// prompts and no banner, only results.
func newLineReader(stdin io.Reader, stdout io.Writer, complete func(string) []string) (lineReader, bool) {
	outFile, _ := stdout.(*os.File)
	if stdin == io.Reader(os.Stdin) && outFile == os.Stdout && isTerminal(stdin) && isTerminal(outFile) {
		return newLinerReader(complete), true
	}
	return &plainReader{r: bufio.NewReader(stdin)}, false
}

type plainReader struct{ r *bufio.Reader }

func (p *plainReader) Prompt(string) (string, error) {
	line, err := p.r.ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (p *plainReader) AppendHistory(string) {}
func (p *plainReader) Close()               {}

// linerReader adapts liner: Ctrl-C and Ctrl-D become the errors bindings
// expects, and the history lives in a file between sessions.
type linerReader struct {
	l        *liner.State
	histPath string
	once     sync.Once
}

func newLinerReader(complete func(string) []string) *linerReader {
	r := &linerReader{l: liner.NewLiner(), histPath: historyPath()}
	r.l.SetCtrlCAborts(true)
	// liner replaces the line with the chosen completion; Complete
	// returns whole lines. Tab cycles through several.
	r.l.SetCompleter(complete)
	if f, err := os.Open(r.histPath); err == nil {
		// A damaged history file loads partly; it is no reason to fail.
		_, _ = r.l.ReadHistory(f)
		f.Close()
	}
	return r
}

func (r *linerReader) Prompt(prompt string) (string, error) {
	line, err := r.l.Prompt(prompt)
	switch {
	case errors.Is(err, liner.ErrPromptAborted):
		return "", bindings.ErrInterrupted
	case errors.Is(err, io.EOF):
		// Leave the shell's prompt on a line of its own.
		fmt.Println()
		return "", io.EOF
	}
	return line, err
}

// AppendHistory stores a chunk on one line when that keeps its meaning,
// since the history file (and liner's recall) is a line per entry; a
// chunk with a comment, a long string or a line continuation goes in
// line by line instead.
func (r *linerReader) AppendHistory(chunk string) {
	if secretLine.MatchString(chunk) {
		return
	}
	lines := strings.Split(chunk, "\n")
	joinable := true
	for _, l := range lines {
		if strings.Contains(l, "--") || strings.Contains(l, "[[") || strings.Contains(l, "[=") || strings.HasSuffix(l, `\`) {
			joinable = false
		}
	}
	if joinable {
		for i := range lines {
			lines[i] = strings.TrimSpace(lines[i])
		}
		r.l.AppendHistory(strings.Join(lines, " "))
		return
	}
	for _, l := range lines {
		r.l.AppendHistory(l)
	}
}

// Close saves the history (liner keeps the last liner.HistoryLimit
// entries, 1000, which caps the file) and restores the terminal. Saving
// goes through a temporary file and a rename so that two sessions ending
// together leave one whole history, not a mix. A failure to save is
// silent: history is a convenience.
func (r *linerReader) Close() {
	r.once.Do(func() {
		defer r.l.Close()
		if r.histPath == "" || os.MkdirAll(filepath.Dir(r.histPath), 0o700) != nil {
			return
		}
		tmp, err := os.CreateTemp(filepath.Dir(r.histPath), ".history-*")
		if err != nil {
			return
		}
		_, werr := r.l.WriteHistory(tmp)
		if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), r.histPath) != nil {
			os.Remove(tmp.Name())
		}
	})
}

// secretLine is the mysql client's default histignore,
// "*IDENTIFIED*:*PASSWORD*", case-insensitive: a CREATE USER or a
// password option typed at the prompt stays out of the history file.
var secretLine = regexp.MustCompile(`(?i)identified|password`)

// historyPath follows the XDG base directory spec: history is state, kept
// in $XDG_STATE_HOME, by default ~/.local/state.
func historyPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "replicant-lua", "history")
}
