package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"
)

// printUsage is the top-level help: the commands, then the global flags.
func printUsage(fs *pflag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, usage, bundledNames())
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// commandHelp is `help COMMAND` for the commands that have no flag set of
// their own to print.
var commandHelp = map[string]string{
	"run": `usage: replicant-lua [flags] run PLAYBOOK.lua [-- ARGS...]
       replicant-lua [flags] run NAME [-- --option value...]
       replicant-lua [flags] run -            (the playbook on stdin)

Runs a Lua playbook, or a bundled procedure by NAME (%s).
The replicant-lua flags (-d, --dry-run, --yes, --audit, --json, --timeout)
come before "--"; what follows "--" is the playbook's: arg[1..n] in a
playbook, --option value pairs for a procedure. doc NAME lists a
procedure's options.
`,
	"repl": `usage: replicant-lua [flags] repl

Interactive Lua with the deployment's servers: rep = require "replicant"
is loaded, a chunk's values are printed (result sets as tables; end a line
with \G for one column per row), tab completes names and methods. \help
lists the REPL's commands; \quit, exit or Ctrl-D leaves. A chunk that
fails undoes the steps it registered. It is the default on a terminal.
`,
	"doc": `usage: replicant-lua doc [NAME]
       replicant-lua doc --format luals > replicant.d.lua

Without NAME: the bundled procedures, modules and the Lua API, one line
each. doc NAME prints one of them in full: doc switchover,
doc server:replica_status, doc rep.step, doc errors. --format luals
writes annotations that let an editor (lua-language-server) complete
and check playbooks.
`,
	"help": `usage: replicant-lua help [COMMAND|PROCEDURE]

Prints the top-level help, a command's (run, repl, sandbox, doc), or a
bundled procedure's documentation.
`,
}

// runHelp is `help [COMMAND|PROCEDURE]`, on stdout.
func runHelp(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(fs, stdout)
		return exitOK
	}
	if len(args) > 1 {
		fmt.Fprintln(stderr, "replicant-lua: help takes one command or procedure name")
		return exitUsage
	}
	name := args[0]
	switch {
	case name == "sandbox":
		fmt.Fprint(stdout, sandboxHelp)
	case name == "watch":
		return runWatch(context.Background(), globals{}, []string{"-h"}, stdout, stderr)
	case name == "test":
		return runTest(context.Background(), globals{}, []string{"-h"}, stdout, stderr)
	case commandHelp[name] != "":
		text := commandHelp[name]
		if strings.Contains(text, "%s") {
			text = fmt.Sprintf(text, bundledNames())
		}
		fmt.Fprint(stdout, text)
	case isBundledName(name):
		return runDoc([]string{name}, stdout, stderr) // its doc with its options, as run NAME --help
	default:
		fmt.Fprintf(stderr, "replicant-lua: help: no command or bundled procedure %q (commands: run, repl, watch, sandbox, doc, completion, help; procedures: %s)\n",
			name, bundledNames())
		return exitUsage
	}
	return exitOK
}

// versionLine is what --version prints after the program's name: the
// module version and the revision it was built from, as the Go toolchain
// recorded them in the binary (go build in a git checkout records the
// commit, its time and whether the tree had changes).
func versionLine() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(no build information)"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	var parts []string
	if rev := vcs["vcs.revision"]; rev != "" {
		parts = append(parts, "revision "+rev)
		if vcs["vcs.modified"] == "true" {
			parts = append(parts, "with uncommitted changes")
		}
	}
	if t := vcs["vcs.time"]; t != "" {
		parts = append(parts, "committed "+t)
	}
	parts = append(parts, info.GoVersion)
	return version + " (" + strings.Join(parts, ", ") + ")"
}

// moduleVersion is the module version alone, for rep.version.
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" {
		return "(devel)"
	}
	return info.Main.Version
}
