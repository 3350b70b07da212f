// Command replicant-lua runs Lua playbooks that control MySQL and MariaDB
// replication. It parses flags, builds an interpreter and reports; the work
// is in bindings and runtime.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/replicant-lua/replicant-lua/bindings"
	"github.com/replicant-lua/replicant-lua/runtime/coord"
	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/runtime/harness"
)

// Exit codes, as README.md documents them: 0 success, 1 a procedure failed, 2 usage or input error.
const (
	exitOK     = 0
	exitFailed = 1 // a playbook or procedure failed
	exitUsage  = 2 // bad flags, unreadable or invalid input
)

const usage = `replicant-lua: control MySQL and MariaDB replication with Lua playbooks.

Usage:
  replicant-lua [flags] run PLAYBOOK.lua [-- ARGS...]   run a playbook; ARGS reach it as arg
  replicant-lua [flags] run NAME [-- ARGS...]           run a bundled procedure (%s)
  replicant-lua [flags] -e 'CODE' [-e 'CODE'...]        run one-liners in order, print what they return
  replicant-lua [flags] repl                            interactive Lua (default on a terminal)
  replicant-lua [flags] watch [-d DEPLOYMENT|DIR...]    detect a failed primary and fail over (watch -h)
  replicant-lua test [-j N] [--builtin] [DIR...]        run scenario tests against fresh sandboxes (test -h)
  replicant-lua sandbox COMMAND [flags]                 local servers for trying things out
  replicant-lua doc [NAME]                              procedures, modules and the Lua API
  replicant-lua help [COMMAND|PROCEDURE]                this text, or one command's
  replicant-lua completion bash|zsh|fish                a shell completion script
  replicant-lua --version

Flags:
`

type globals struct {
	deployment string
	eval       []string
	timeout    time.Duration
	verbose    bool
	version    bool
	dryRun     bool
	audit      string
	yes        bool
	forceLock  bool
	json       bool
	// coordinator is --coordinator: etcd://host:port[,...]
	coordinator string
}

func newFlagSet(g *globals, stdout, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("replicant-lua", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVarP(&g.deployment, "deployment", "d", "", "deployment `FILE` (Lua) naming servers and credentials")
	fs.StringArrayVarP(&g.eval, "eval", "e", nil, "run `CODE` and exit; several -e run in order, each printing what it returns")
	fs.DurationVar(&g.timeout, "timeout", 0, "bound the whole run (e.g. 30s, 5m); 0 means none")
	fs.BoolVarP(&g.verbose, "verbose", "v", false, "say more: stack traces on errors")
	fs.BoolVar(&g.version, "version", false, "print the version and exit")
	fs.BoolVar(&g.dryRun, "dry-run", false, "run with reads live, record every changing statement instead, print the plan")
	fs.StringVar(&g.audit, "audit", "", "append JSON lines of every statement and step to `FILE`")
	fs.BoolVar(&g.yes, "yes", false, "answer yes to every rep.confirm question")
	fs.BoolVar(&g.forceLock, "force-lock", false, "take the procedure lock with fewer than a majority of the servers (when you know the others are down)")
	fs.StringVar(&g.coordinator, "coordinator", "", "keep the procedure lock (and watch's leadership) in etcd: `etcd://HOST:PORT[,HOST:PORT...]`; the deployment names its cluster = \"...\"")
	fs.BoolVar(&g.json, "json", false, "print one JSON document on stdout when the run ends (result, error, steps, plan); print() goes to stderr")
	// pflag calls Usage for -h and --help only: help that was asked for
	// goes to stdout.
	fs.Usage = func() { printUsage(fs, stdout) }
	return fs
}

func main() {
	bindings.Version = moduleVersion()
	os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func realMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var g globals
	fs := newFlagSet(&g, stdout, stderr)
	fs.SetInterspersed(false) // flags after the command belong to it
	if err := fs.Parse(args); err != nil {
		return flagError(err, stderr)
	}
	if g.version {
		fmt.Fprintln(stdout, "replicant-lua", versionLine())
		return exitOK
	}
	ctx := context.Background()
	rest := fs.Args()
	if len(rest) > 0 && rest[0] == "help" {
		return runHelp(fs, rest[1:], stdout, stderr)
	}
	if len(rest) > 0 && rest[0] == "doc" {
		return runDoc(rest[1:], stdout, stderr)
	}
	if len(rest) > 0 && (rest[0] == "completion" || rest[0] == "__complete") {
		return runCompletion(rest, stdout, stderr)
	}
	if len(rest) > 0 && rest[0] == "watch" {
		return runWatch(ctx, g, rest[1:], stdout, stderr)
	}
	if len(rest) > 0 && rest[0] == "test" {
		return runTest(ctx, g, rest[1:], stdout, stderr)
	}
	if len(rest) > 0 && rest[0] == "sandbox" {
		ctx, stop := cancelOnSignal(ctx, stderr)
		defer stop()
		return runSandbox(ctx, rest[1:], g.json, stdout, stderr)
	}
	if len(g.eval) == 0 && len(rest) == 0 {
		if isTerminal(stdin) {
			rest = []string{"repl"}
		} else {
			rest = []string{"run", "-"}
		}
	}
	if len(rest) > 0 && rest[0] == "run" {
		// Global flags may also follow "run"; what follows "--" is the script's.
		if err := fs.Parse(rest); err != nil {
			return flagError(err, stderr)
		}
		rest = withDash(fs, rest)
		if name, ok := procedureHelp(rest); ok {
			return runDoc([]string{name}, stdout, stderr)
		}
	}
	return dispatch(ctx, g, rest, stdin, stdout, stderr)
}

// withDash returns the positional arguments with "--" put back where the
// user wrote it, so run can tell its file from the script's arguments.
func withDash(fs *pflag.FlagSet, _ []string) []string {
	pos := fs.Args()
	at := fs.ArgsLenAtDash()
	if at < 0 {
		return pos
	}
	out := append([]string{}, pos[:at]...)
	out = append(out, "--")
	return append(out, pos[at:]...)
}

// procedureHelp finds "run NAME --help" (or -h, before or after "--") for
// a bundled procedure: its doc, options included, is the answer.
func procedureHelp(rest []string) (string, bool) {
	if len(rest) < 2 || !isBundledName(rest[1]) || fileExists(rest[1]) {
		return "", false
	}
	for _, a := range rest[2:] {
		if a == "--help" || a == "-h" {
			return rest[1], true
		}
	}
	return "", false
}

// isGlobalFlag reports whether --name is one of replicant-lua's own flags.
func isGlobalFlag(name string) bool {
	name, _, _ = strings.Cut(name, "=")
	return newFlagSet(&globals{}, io.Discard, io.Discard).Lookup(name) != nil
}

// misplacedOptions is the usage error for "run NAME --to x": a
// procedure's options follow "--", replicant-lua's flags come before run.
func misplacedOptions(g globals, name string, args []string) string {
	if flag, ok := strings.CutPrefix(args[0], "--"); ok && isGlobalFlag(flag) {
		return fmt.Sprintf("%s is a flag of replicant-lua: put it before run (replicant-lua %s run %s -- ...)",
			args[0], args[0], name)
	}
	dep := g.deployment
	if dep == "" {
		dep = "DEPLOYMENT.lua"
	}
	rest := args
	for i, a := range args {
		if a == "--" {
			rest = append(append([]string{}, args[:i]...), args[i+1:]...)
			break
		}
	}
	return fmt.Sprintf("%s: its options follow \"--\": replicant-lua -d %s run %s -- %s", name, dep, name,
		strings.Join(rest, " "))
}

func dispatch(ctx context.Context, g globals, rest []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(rest) == 0 || rest[0] != "repl" {
		// The REPL handles Ctrl-C itself: it ends one evaluation, not the session.
		var stop func()
		ctx, stop = cancelOnSignal(ctx, stderr)
		defer stop()
	}
	if g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, g.timeout,
			fmt.Errorf("--timeout %s reached", g.timeout))
		defer cancel()
	}
	var d *deploy.Deployment
	if g.deployment != "" {
		var err error
		if d, err = bindings.LoadDeployment(ctx, g.deployment, terminalAsk(stdin, stderr)); err != nil {
			return inputError(g, stdout, stderr, err)
		}
	}
	cfg := bindings.Config{Deployment: d, Stdout: stdout, Stderr: stderr, Verbose: g.verbose,
		DryRun: g.dryRun, Yes: g.yes, ForceLock: g.forceLock, JSON: g.json, Command: os.Args,
		BeforeStep: stepHook(stderr)}
	if g.audit != "" {
		f, err := os.OpenFile(g.audit, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return inputError(g, stdout, stderr, fmt.Errorf("--audit: %w", err))
		}
		defer f.Close()
		cfg.Audit = f
	}
	if cc, cluster, ok, err := coordinator(g.coordinator, d); err != nil {
		return inputError(g, stdout, stderr, err)
	} else if ok {
		l := &coord.Locker{Config: cc, Cluster: cluster, Holder: coord.Me(commandName(rest, g.eval), "")}
		defer l.Close()
		cfg.Locker = l
	}
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		cfg.Progress = f // waits that last say how they go; never into a log or a pipe
	}
	if isTerminal(stdin) && (len(rest) == 0 || rest[0] != "repl") {
		cfg.Confirm = terminalConfirm(stdin, stderr)
	}
	st := bindings.New(ctx, cfg)
	defer st.Close()
	code, runErr := dispatchRun(ctx, st, g, rest, stdin, stdout, stderr)
	human := stdout
	if g.json {
		human = stderr // stdout is for the JSON document alone
	}
	if st.PrintPlan(human) && code == exitOK {
		fmt.Fprintln(human, "dry run: nothing was changed")
	}
	st.EndAudit(code, runErr)
	if err := st.AuditErr(); err != nil {
		fmt.Fprintln(stderr, "replicant-lua: writing the audit log:", err)
		if code == exitOK {
			code, runErr = exitFailed, fmt.Errorf("writing the audit log: %w", err)
		}
	}
	if g.json {
		if err := st.WriteOutcome(stdout, runErr, code); err != nil {
			fmt.Fprintln(stderr, "replicant-lua: --json:", err)
			return exitFailed
		}
	}
	return code
}

// inputError reports a deployment or audit file that stops the run before
// it starts; with --json the document says so too.
func inputError(g globals, stdout, stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "replicant-lua:", err)
	if g.json {
		bindings.WriteFailure(stdout, err, exitUsage)
	}
	return exitUsage
}

// dispatchRun runs what the command line asks for and returns the exit
// code with the failure behind it (nil on success), which --json reports.
func dispatchRun(ctx context.Context, st *bindings.State, g globals, rest []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(g.eval) > 0 {
		if len(rest) > 0 {
			return usageError(stderr, "-e runs alone; unexpected %q", rest[0])
		}
		// Each -e is a chunk of its own, run in order in one interpreter
		// (globals carry over); the first failure stops the rest.
		for i, code := range g.eval {
			chunk := "(command line)"
			if len(g.eval) > 1 {
				chunk = fmt.Sprintf("(-e %d)", i+1)
			}
			before := st.ResultCount()
			if err := st.RunString(code, chunk); err != nil {
				return report(err, g, stderr), err
			}
			if !g.json { // --json prints them in its document
				fmt.Fprint(stdout, st.FormatResults(before, 0))
			}
		}
		return exitOK, nil
	}
	switch rest[0] {
	case "run":
		return runCommand(st, g, rest[1:], stdin, stderr)
	case "repl":
		if len(rest) > 1 {
			return usageError(stderr, "repl takes no arguments, got %q", rest[1])
		}
		if g.json {
			return usageError(stderr, "--json is for run and -e, not the REPL")
		}
		return runREPL(ctx, st, stdin, stdout, stderr), nil
	}
	return usageError(stderr, "unknown command %q (run, repl, watch, sandbox, doc, help; -h for help)", rest[0])
}

// usageError prints a command-line mistake and returns it with exitUsage.
func usageError(stderr io.Writer, format string, args ...any) (int, error) {
	err := fmt.Errorf(format, args...)
	fmt.Fprintln(stderr, "replicant-lua:", err)
	return exitUsage, err
}

func runCommand(st *bindings.State, g globals, rest []string, stdin io.Reader, stderr io.Writer) (int, error) {
	if len(rest) == 0 || rest[0] == "--" {
		return usageError(stderr, "run needs a playbook file or a bundled procedure name")
	}
	target, scriptArgs := rest[0], rest[1:]
	if flag, ok := strings.CutPrefix(target, "--"); ok && isGlobalFlag(flag) {
		return usageError(stderr, "%s is a flag of replicant-lua: put it before run (replicant-lua %s run ...)", target, target)
	}
	if len(scriptArgs) > 0 && scriptArgs[0] == "--" {
		scriptArgs = scriptArgs[1:]
	}
	var err error
	switch {
	case target == "-":
		src, readErr := io.ReadAll(stdin)
		if readErr != nil {
			return usageError(stderr, "reading the playbook from stdin: %v", readErr)
		}
		err = st.RunString(string(src), "(stdin)")
	case fileExists(target):
		err = st.RunFile(target, scriptArgs)
	case isBundledName(target):
		if len(rest) > 1 && rest[1] != "--" {
			return usageError(stderr, "%s", misplacedOptions(g, target, rest[1:]))
		}
		err = st.RunProcedure(target, scriptArgs, isGlobalFlag)
	default:
		return usageError(stderr, "%s: no such playbook file, and no bundled procedure of that name (bundled: %s)",
			target, bundledNames())
	}
	return report(err, g, stderr), err
}

// report prints a run's failure and picks the exit code.
func report(err error, g globals, stderr io.Writer) int {
	var exit *bindings.ExitError
	var syntax *bindings.SyntaxError
	var failed *bindings.RunError
	var usage *bindings.UsageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "replicant-lua:", usage.Message)
		return exitUsage
	case errors.As(err, &exit):
		return exit.Code
	case errors.As(err, &syntax):
		fmt.Fprintln(stderr, "replicant-lua:", syntax.Message)
		return exitUsage
	case errors.As(err, &failed):
		fmt.Fprintln(stderr, "replicant-lua:", failed.Message)
		if g.verbose && failed.StackTrace != "" {
			fmt.Fprintln(stderr, failed.StackTrace)
		}
		return exitFailed
	}
	fmt.Fprintln(stderr, "replicant-lua:", err)
	return exitUsage
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// cancelOnSignal cancels the run on SIGINT or SIGTERM, with a cause that
// says so: the running statement is abandoned (the server package sends
// KILL QUERY) and the failure message names the signal. The run then
// undoes what it had not made final, each undo under a fresh deadline; a
// second signal does not cut that short (an operator pressing Ctrl-C again
// would leave servers fenced), it is answered on stderr.
func cancelOnSignal(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			cancel(fmt.Errorf("interrupted by %s", sig))
		case <-done:
			return
		}
		for {
			select {
			case sig := <-sigs:
				fmt.Fprintf(stderr, "replicant-lua: %s: already stopping; undoing what the procedure changed first\n", sig)
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

func flagError(err error, stderr io.Writer) int {
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "replicant-lua: %v (-h for help)\n", err)
	return exitUsage
}

// terminalAsk reads a deployment's prompt "question" secrets from the
// terminal with echo off; nil when stdin is not a terminal.
func terminalAsk(stdin io.Reader, stderr io.Writer) bindings.Ask {
	f, ok := stdin.(*os.File)
	if !ok || !isTerminal(stdin) {
		return nil
	}
	return func(question string) (string, error) {
		fmt.Fprintf(stderr, "%s: ", question)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
}

// terminalConfirm asks rep.confirm's question on the terminal.
func terminalConfirm(stdin io.Reader, stderr io.Writer) func(string) (bool, error) {
	in := bufio.NewReader(stdin)
	return func(question string) (bool, error) {
		fmt.Fprintf(stderr, "%s [y/N] ", question)
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return false, err
		}
		answer := strings.ToLower(strings.TrimSpace(line))
		return answer == "y" || answer == "yes", nil
	}
}

// stepHook reports each step to the test that started this run
// (`replicant-lua test`'s on_step hooks), when it set harness.StepHookEnv.
func stepHook(log io.Writer) func(ctx context.Context, procedure, step string) {
	if path := os.Getenv(harness.StepHookEnv); path != "" {
		return harness.StepHookClient(path, log)
	}
	return nil
}
