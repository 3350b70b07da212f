package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/replicant-lua/replicant-lua/bindings"
	"github.com/replicant-lua/replicant-lua/runtime/harness"
	"github.com/replicant-lua/replicant-lua/runtime/scenario"
)

const testHelp = `usage: replicant-lua test [-j N] [--keep] [--json] [--junit FILE] [--builtin] [DIR|FILE...]

Runs tests of playbooks against real servers. A FILE is a Lua test file
(require "replicant.test": t.topology, the faults, t.writer, t.run,
t.watch); a DIR is a scenario folder (it has an args file) or a folder
of scenario folders and *_test.lua files (docs/TESTING.md). Each test
gets a fresh sandbox on free loopback ports, which is stopped by pid
when it ends, its faults undone, even on Ctrl-C. Prints a line per test
and "N passed, N failed"; exits 1 when one failed.
--builtin runs the project's own hostile scenarios against this binary.

Flags:
`

// runTest is `replicant-lua test`.
func runTest(ctx context.Context, g globals, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		jobs    int
		keep    bool
		junit   string
		builtin bool
	)
	fs.IntVarP(&jobs, "jobs", "j", 1, "run `N` scenarios at once (each starts its own servers)")
	fs.BoolVar(&keep, "keep", false, "leave a failed scenario's sandbox running, and say how to reach it")
	fs.StringVar(&junit, "junit", "", "write a JUnit XML report to `FILE`")
	fs.BoolVar(&builtin, "builtin", false, "run the project's own scenarios (what the bundled procedures survive)")
	fs.Usage = func() {
		fmt.Fprint(stdout, testHelp)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "replicant-lua test: %v (test -h for help)\n", err)
		return exitUsage
	}
	paths := fs.Args()
	if jobs < 1 {
		fmt.Fprintf(stderr, "replicant-lua test: -j %d: want at least 1\n", jobs)
		return exitUsage
	}
	if g.deployment != "" || g.dryRun || len(g.eval) > 0 {
		fmt.Fprintln(stderr, "replicant-lua test: -d, --dry-run and -e are not for test: each scenario brings its own sandbox")
		return exitUsage
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua test: %v\n", err)
		return exitFailed
	}
	work, err := os.MkdirTemp("", "replicant-lua-test-")
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua test: %v\n", err)
		return exitFailed
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	if builtin {
		dir, err := scenario.ExtractBuiltin(work)
		if err != nil {
			fmt.Fprintf(stderr, "replicant-lua test: --builtin: %v\n", err)
			return exitFailed
		}
		paths = append(paths, dir)
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "replicant-lua test: nothing to run: give a test file, a folder, or --builtin")
		return exitUsage
	}
	scenarios, err := scenario.Find(paths)
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua: %v\n", err)
		return exitUsage
	}
	ctx, stop := cancelOnSignal(ctx, stderr)
	defer stop()
	progress := stdout
	if g.json {
		progress = stderr
	}
	r := &scenario.Runner{Binary: self, Jobs: jobs, Keep: keep, Dir: work, Progress: progress, TestFile: runTestFile}
	results, err := r.Run(ctx, scenarios)
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua test: %v\n", err)
		return exitFailed
	}
	line, failed := scenario.Summary(results)
	fmt.Fprintln(progress, line)
	if keep && failed == 0 {
		os.RemoveAll(work) // nothing to keep
	}
	if junit != "" {
		f, err := os.Create(junit)
		if err == nil {
			err = scenario.JUnit(f, results)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "replicant-lua test: --junit: %v\n", err)
			return exitFailed
		}
	}
	if g.json {
		scenario.JSON(stdout, results)
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "replicant-lua test: %v: the scenarios' servers were stopped\n", context.Cause(ctx))
		return exitFailed
	}
	if failed > 0 {
		return exitFailed
	}
	return exitOK
}

// runTestFile runs one Lua test file in a state of its own, with the
// test kit, and stops what it started (its sandbox too, unless kept).
func runTestFile(ctx context.Context, f scenario.TestFile) (res scenario.TestFileResult) {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return scenario.TestFileResult{Failures: []string{err.Error()}}
	}
	kit := &bindings.TestKit{Binary: f.Binary, Dir: f.Dir, Template: f.Template, WorkDir: filepath.Dir(f.Path)}
	var out harness.Output
	st := bindings.New(ctx, bindings.Config{Stdout: &out, Stderr: &out, Yes: true, Test: kit})
	err := st.RunFile(f.Path, nil)
	st.Close()
	if err != nil {
		msg := err.Error()
		if out.String() != "" {
			msg += "\noutput:\n" + out.String()
		}
		res.Failures = append(res.Failures, msg)
	}
	res.Failures = append(res.Failures, kit.Failures()...)
	keep := f.Keep && len(res.Failures) > 0 && kit.Sandbox() != nil
	// Not ctx, which may be what was cancelled: the servers must go.
	if err := kit.Close(context.WithoutCancel(ctx), keep); err != nil {
		res.Failures = append(res.Failures, "undoing the faults: "+err.Error())
	}
	if keep {
		res.Kept = kit.Sandbox().Dir
	}
	return res
}
