package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// Exit codes of the sandbox commands, the same as the other commands' (README.md).
const (
	sandboxOK     = 0
	sandboxFailed = 1
	sandboxUsage  = 2
)

const sandboxHelp = `usage: replicant-lua sandbox up     [--dir DIR] [--servers N] [--base-port PORT] [--binary PATH] [--tls] [--semi-sync]
       replicant-lua sandbox down   [--dir DIR] [--remove]
       replicant-lua sandbox status [--dir DIR] [--json]
       replicant-lua sandbox start|stop|restart NAME [--dir DIR]
       replicant-lua sandbox add    [--dir DIR] [--servers N] [--empty]
       replicant-lua sandbox remove NAME [--dir DIR]

up      start N local MariaDB servers on 127.0.0.1 (db1 primary, the others its
        GTID replicas), write DIR/deployment.lua; refuses a DIR that already
        holds a sandbox, running or stopped. --tls: a throwaway CA and
        certificates in DIR/tls, servers that offer TLS, replication over
        TLS, and a deployment that verifies every server against the CA
down    stop them by their recorded pids (safe to repeat); --remove also
        deletes DIR
status  per server: process (live pid), answers, role and replication
        threads as the server reports them; exit 1 when any server is down
start, stop, restart NAME
        one server, through its machine (its option file), as a playbook's
        db:start() would; the new pid is recorded
add     new servers (next name, next server_id, a free port) replicating
        from the current primary, or with --empty none (a clone target);
        deployment.lua and sandbox.json list them
remove NAME
        stop one server, delete its directory, drop it from both files;
        refused while another server replicates from it
`

// runSandbox runs `replicant-lua sandbox ARGS...`.
func runSandbox(ctx context.Context, args []string, asJSON bool, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, sandboxHelp)
		return sandboxUsage
	}
	if asJSON && args[0] != "status" {
		fmt.Fprintf(stderr, "replicant-lua sandbox %s: --json is for sandbox status\n", args[0])
		return sandboxUsage
	}
	switch args[0] {
	case "up":
		return sandboxUp(ctx, args[1:], stdout, stderr)
	case "down":
		return sandboxDown(ctx, args[1:], stdout, stderr)
	case "status":
		return sandboxStatus(ctx, args[1:], asJSON, stdout, stderr)
	case "add":
		return sandboxAdd(ctx, args[1:], stdout, stderr)
	case "remove":
		return sandboxRemoveServer(ctx, args[1:], stdout, stderr)
	case sandbox.ActionStart, sandbox.ActionStop, sandbox.ActionRestart:
		return sandboxControl(ctx, args[0], args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, sandboxHelp)
		return sandboxOK
	}
	fmt.Fprintf(stderr, "replicant-lua sandbox: unknown command %q\n%s", args[0], sandboxHelp)
	return sandboxUsage
}

// sandboxFlags parses a subcommand's flags; ok is false with the exit code
// to return when parsing ended the command (help, or a usage error).
// Help that was asked for (-h) goes to stdout; after a mistake, to stderr.
func sandboxFlags(name string, args []string, stdout, stderr io.Writer, define func(*pflag.FlagSet)) (code int, ok bool) {
	fs := pflag.NewFlagSet("sandbox "+name, pflag.ContinueOnError)
	usage := func(w io.Writer) {
		fs.SetOutput(w)
		fmt.Fprintf(w, "usage: replicant-lua sandbox %s [flags]\n", name)
		fs.PrintDefaults()
	}
	fs.Usage = func() { usage(stdout) } // pflag calls it for -h only
	define(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return sandboxOK, false
		}
		// With ContinueOnError pflag prints nothing itself.
		fmt.Fprintf(stderr, "replicant-lua sandbox %s: %v\n", name, err)
		usage(stderr)
		return sandboxUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "replicant-lua sandbox %s: unexpected argument %q\n", name, fs.Arg(0))
		usage(stderr)
		return sandboxUsage, false
	}
	return 0, true
}

func sandboxUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// The servers outlive this command; the deployment names their
	// machines, so playbooks can restart them and edit their option files.
	opts := sandbox.Options{Detach: true, WriteMachines: true}
	code, ok := sandboxFlags("up", args, stdout, stderr, func(fs *pflag.FlagSet) {
		fs.StringVar(&opts.Dir, "dir", "./"+sandbox.DefaultDir, "sandbox `directory` (must not exist, or be empty)")
		fs.IntVar(&opts.Servers, "servers", sandbox.DefaultServers, "number of servers (1 to 64)")
		fs.IntVar(&opts.BasePort, "base-port", 0, "port of db1, the others follow; 0 picks free ports")
		fs.StringVar(&opts.Binary, "binary", "", "server `path` (default: mariadbd or mysqld on PATH or in /usr/sbin)")
		fs.BoolVar(&opts.TLS, "tls", false, "certificates in DIR/tls; the deployment verifies TLS to every server")
		fs.BoolVar(&opts.SemiSync, "semi-sync", false, "semi-synchronous replication (AFTER_SYNC, 10 s timeout) on every server")
	})
	if !ok {
		return code
	}
	if opts.Servers < 1 || opts.Servers > 64 || opts.BasePort < 0 || opts.BasePort > 65535 {
		fmt.Fprintf(stderr, "replicant-lua sandbox up: --servers wants 1 to 64 and --base-port 0 to 65535\n")
		return sandboxUsage
	}
	sb, err := sandbox.Up(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua: %v\n", err)
		return sandboxFailed
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPORT\tROLE\tPID")
	for _, in := range sb.Instances {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", in.Name, in.Port, in.Role, in.Pid)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "deployment: %s\n", sb.DeploymentPath)
	fmt.Fprintf(stdout, "try: replicant-lua -d %s run examples/basic.lua   (stop: replicant-lua sandbox down --dir %s)\n",
		sandboxShellQuote(sb.DeploymentPath), sandboxShellQuote(sb.Dir))
	return sandboxOK
}

func sandboxDown(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var dir string
	var remove bool
	code, ok := sandboxFlags("down", args, stdout, stderr, func(fs *pflag.FlagSet) {
		fs.StringVar(&dir, "dir", "./"+sandbox.DefaultDir, "sandbox `directory`")
		fs.BoolVar(&remove, "remove", false, "also delete the directory (datadirs, logs, secrets)")
	})
	if !ok {
		return code
	}
	err := sandbox.Down(ctx, dir)
	switch {
	case errors.Is(err, sandbox.ErrNoSandbox):
		fmt.Fprintf(stderr, "replicant-lua sandbox down: no sandbox in %s, nothing to stop\n", dir)
	case err != nil:
		fmt.Fprintf(stderr, "replicant-lua: %v\n", err)
		return sandboxFailed
	default:
		fmt.Fprintf(stdout, "stopped the sandbox in %s\n", dir)
	}
	if remove {
		if err := sandbox.Remove(dir); err != nil {
			fmt.Fprintf(stderr, "replicant-lua: %v\n", err)
			return sandboxFailed
		}
		fmt.Fprintf(stdout, "removed %s\n", dir)
	}
	return sandboxOK
}

func sandboxAdd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var dir string
	var opts sandbox.AddOptions
	code, ok := sandboxFlags("add", args, stdout, stderr, func(fs *pflag.FlagSet) {
		fs.StringVar(&dir, "dir", "./"+sandbox.DefaultDir, "sandbox `directory`")
		fs.IntVar(&opts.Servers, "servers", 1, "how many servers to add")
		fs.BoolVar(&opts.Empty, "empty", false, "no replication: a read-only server with the accounts only (a clone target)")
	})
	if !ok {
		return code
	}
	added, err := sandbox.Add(ctx, dir, opts)
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua: %v\n", err)
		return sandboxFailed
	}
	for _, in := range added {
		how := "replicating from the primary"
		if opts.Empty {
			how = "empty, read-only, no replication"
		}
		fmt.Fprintf(stdout, "%s: port %d, server_id %d, pid %d, %s\n", in.Name, in.Port, in.ServerID, in.Pid, how)
	}
	return sandboxOK
}

func sandboxRemoveServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	var dir string
	code, ok := sandboxFlags("remove", args, stdout, stderr, func(fs *pflag.FlagSet) {
		fs.StringVar(&dir, "dir", "./"+sandbox.DefaultDir, "sandbox `directory`")
	})
	if !ok {
		return code
	}
	if name == "" {
		fmt.Fprintln(stderr, "replicant-lua sandbox remove: which server? usage: replicant-lua sandbox remove NAME [--dir DIR]")
		return sandboxUsage
	}
	if err := sandbox.RemoveServer(ctx, dir, name); err != nil {
		fmt.Fprintf(stderr, "replicant-lua: %v\n", err)
		return sandboxFailed
	}
	fmt.Fprintf(stdout, "%s: stopped and removed\n", name)
	return sandboxOK
}

func sandboxControl(ctx context.Context, action string, args []string, stdout, stderr io.Writer) int {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	var dir string
	code, ok := sandboxFlags(action, args, stdout, stderr, func(fs *pflag.FlagSet) {
		fs.StringVar(&dir, "dir", "./"+sandbox.DefaultDir, "sandbox `directory`")
	})
	if !ok {
		return code
	}
	if name == "" {
		fmt.Fprintf(stderr, "replicant-lua sandbox %s: which server? usage: replicant-lua sandbox %s NAME [--dir DIR]\n",
			action, action)
		return sandboxUsage
	}
	in, err := sandbox.Control(ctx, dir, name, action)
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua: %v\n", err)
		return sandboxFailed
	}
	if in.Pid == 0 {
		fmt.Fprintf(stdout, "%s: stopped\n", in.Name)
	} else {
		fmt.Fprintf(stdout, "%s: running, pid %d, port %d\n", in.Name, in.Pid, in.Port)
	}
	return sandboxOK
}

func sandboxStatus(ctx context.Context, args []string, asJSON bool, stdout, stderr io.Writer) int {
	var dir string
	code, ok := sandboxFlags("status", args, stdout, stderr, func(fs *pflag.FlagSet) {
		fs.StringVar(&dir, "dir", "./"+sandbox.DefaultDir, "sandbox `directory`")
		fs.BoolVar(&asJSON, "json", asJSON, "print a JSON array, one object per server")
	})
	if !ok {
		return code
	}
	sts, err := sandbox.Status(ctx, dir)
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua: %v\n", err)
		return sandboxFailed
	}
	if asJSON {
		if err := writeStatusJSON(sts, stdout); err != nil {
			fmt.Fprintf(stderr, "replicant-lua: %v\n", err)
			return sandboxFailed
		}
	} else {
		writeStatusTable(sts, stdout, stderr)
	}
	for _, st := range sts {
		if !st.Running || !st.Answering {
			return sandboxFailed
		}
	}
	return sandboxOK
}

// writeStatusTable prints one line per server, and the errors of servers
// that run but do not answer.
func writeStatusTable(sts []sandbox.InstanceStatus, stdout, stderr io.Writer) {
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPORT\tPID\tPROCESS\tANSWERS\tROLE\tREAD_ONLY\tREPLICATION")
	for _, st := range sts {
		process, answers, readOnly, repl, pid, role := "down", "no", "-", "-", "-", "-"
		if st.Running {
			process, pid = "running", strconv.Itoa(st.Pid)
		}
		if st.Role != "" {
			role = string(st.Role)
		}
		if st.Answering {
			answers, readOnly = "yes", "0"
			if st.ReadOnly {
				readOnly = "1"
			}
		}
		if st.Answering && st.Role == sandbox.RoleReplica {
			repl = fmt.Sprintf("io=%s sql=%s from port %d", st.IOState, st.SQLState, st.SourcePort)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, st.Port, pid, process, answers, role, readOnly, repl)
	}
	tw.Flush()
	for _, st := range sts {
		if st.Err != nil && st.Running {
			fmt.Fprintf(stderr, "%s: %v\n", st.Name, st.Err)
		}
	}
}

var sandboxShellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// sandboxShellQuote makes a path pasteable into a POSIX shell.
func sandboxShellQuote(s string) string {
	if sandboxShellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeStatusJSON prints what status found, one object per server.
func writeStatusJSON(sts []sandbox.InstanceStatus, stdout io.Writer) error {
	type entry struct {
		Name       string `json:"name"`
		Port       int    `json:"port"`
		Pid        int    `json:"pid"`
		Running    bool   `json:"running"`
		Answering  bool   `json:"answering"`
		Role       string `json:"role"`
		ReadOnly   bool   `json:"read_only"`
		IORunning  bool   `json:"io_running"`
		SQLRunning bool   `json:"sql_running"`
		IOState    string `json:"io_state,omitempty"`
		SQLState   string `json:"sql_state,omitempty"`
		SourcePort int    `json:"source_port,omitempty"`
		Error      string `json:"error,omitempty"`
	}
	out := make([]entry, 0, len(sts))
	for _, st := range sts {
		e := entry{Name: st.Name, Port: st.Port, Pid: st.Pid, Running: st.Running, Answering: st.Answering,
			Role: string(st.Role), ReadOnly: st.ReadOnly, IORunning: st.IORunning, SQLRunning: st.SQLRunning,
			IOState: st.IOState, SQLState: st.SQLState,
			SourcePort: st.SourcePort}
		if st.Err != nil {
			e.Error = st.Err.Error()
		}
		out = append(out, e)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
