package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These need no server: they check the command line's contract (output,
// exit codes 0/1/2, error text with file:line).

func TestEvalPrints(t *testing.T) {
	r := run(t, "", nil, "-e", "print(1)")
	if r.code != 0 || r.stdout != "1\n" {
		t.Errorf("-e 'print(1)': code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// --version prints the module version and the commit the binary was
// built from, as the toolchain recorded them.
func TestVersionFlag(t *testing.T) {
	r := run(t, "", nil, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "replicant-lua ") {
		t.Fatalf("--version: %+v", r)
	}
	if rev, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		if want := "revision " + strings.TrimSpace(string(rev)); !strings.Contains(r.stdout, want) {
			t.Errorf("--version: %q lacks %q", r.stdout, want)
		}
	} else if os.Getenv("CI") == "true" {
		t.Errorf("git rev-parse HEAD: %v (CI runs in a checkout)", err)
	}
}

// moduleVersion is the version --version prints, which rep.version is.
func moduleVersion(t *testing.T) string {
	t.Helper()
	r := run(t, "", nil, "--version")
	f := strings.Fields(r.stdout)
	if r.code != 0 || len(f) < 2 {
		t.Fatalf("--version: %+v", r)
	}
	return f[1]
}

// Help that was asked for goes to stdout and exits 0; a mistake's help
// goes to stderr and exits 2.
func TestHelpOnStdout(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-h"}, "Usage:\n"},
		{[]string{"--help"}, "--dry-run"},
		{[]string{"help"}, "help [COMMAND|PROCEDURE]"},
		{[]string{"help", "run"}, "usage: replicant-lua [flags] run PLAYBOOK.lua"},
		{[]string{"help", "sandbox"}, "sandbox up"},
		{[]string{"help", "switchover"}, "switchover: hand the primary role"},
		{[]string{"sandbox", "up", "-h"}, "usage: replicant-lua sandbox up [flags]"},
		{[]string{"sandbox", "help"}, "sandbox up"},
	} {
		r := run(t, "", nil, c.args...)
		if r.code != 0 || !strings.Contains(r.stdout, c.want) || r.stderr != "" {
			t.Errorf("%v: exit %d, stdout %q (want %q in it), stderr %q", c.args, r.code, r.stdout, c.want, r.stderr)
		}
	}
	r := run(t, "", nil, "help", "frobnicate")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, `no command or bundled procedure "frobnicate"`) {
		t.Errorf("help frobnicate: %+v", r)
	}
}

// -e has the REPL's globals, prints what it returns as the REPL does, and
// several -e run in order in one interpreter.
func TestEvalLikeTheREPL(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-e", "return 1 + 1"}, "2\n"},
		{[]string{"-e", "return 'a', {b = 1}"}, "\"a\"\t{ b = 1 }\n"},
		{[]string{"-e", "print(rep == require('replicant'))"}, "true\n"},
		{[]string{"-e", "print({x = 1, y = {2, 3}})"}, "{ x = 1, y = { 2, 3 } }\n"},
		{[]string{"-e", "x = 2", "-e", "return x * 21"}, "42\n"},
		{[]string{"-e", "print('first')", "-e", "print('second')"}, "first\nsecond\n"},
	} {
		r := run(t, "", nil, c.args...)
		if r.code != 0 || r.stdout != c.want {
			t.Errorf("%v: exit %d, stdout %q, want %q; stderr %q", c.args, r.code, r.stdout, c.want, r.stderr)
		}
	}
	r := run(t, "", nil, "-e", "error('one')", "-e", "print('not reached')")
	if r.code != 1 || strings.Contains(r.stdout, "not reached") || !strings.Contains(r.stderr, "(-e 1):1: one") {
		t.Errorf("a failing first -e: %+v", r)
	}
}

// Errors an operator reads: the syntax error in the form editors parse,
// a misspelt deployment key with its line and the key meant, a missing
// secret without a traceback, and no position inside the bundled
// procedures unless -v.
func TestErrorsAnOperatorReads(t *testing.T) {
	write := tempWriter(t)
	syntax := write("syntax.lua", "local x = 1\nif x then\nend end\n")
	unclosed := write("unclosed.lua", "function f()\n  return 1\n")
	typo := write("typo.lua", "return {\n  servers = {\n    db1 = { host = '127.0.0.1',\n      prot = 3306 },\n  },\n}\n")
	noEnv := write("noenv.lua", "return { user = { name = 'r', password = env 'REPLICANT_TEST_UNSET' },\n  servers = { db1 = { host = '127.0.0.1', port = 1 } } }\n")
	dep := write("dep.lua", "return { user = { name = 'r', password = 'x' },\n  servers = { db1 = { host = '127.0.0.1', port = 1 } } }\n")
	for _, c := range []struct {
		name    string
		args    []string
		code    int
		want    string
		notWant string
	}{
		{"syntax error as file:line:", []string{"run", syntax}, 2, syntax + ":3: syntax error near 'end'", "column"},
		{"unclosed block at its last line", []string{"run", unclosed}, 2, unclosed + ":2: syntax error at the end of the file", ""},
		{"deployment typo", []string{"-d", typo, "-e", "print(1)"}, 2, typo + ":4: server db1: unknown option prot (did you mean port?)", ""},
		{"missing env secret", []string{"-d", noEnv, "-e", "print(1)"}, 2, `env "REPLICANT_TEST_UNSET": the variable is not set`, "traceback"},
		{"no stdlib path", []string{"-d", dep, "run", "switchover", "--", "--to", "db1"}, 0, "procedure lock granted by 0 of 1 servers", "stdlib/"},
		{"stdlib path with -v", []string{"-v", "-d", dep, "run", "switchover", "--", "--to", "db1"}, 0, "stdlib/switchover.lua:", ""},
	} {
		r := run(t, "", nil, c.args...)
		if (c.code != 0 && r.code != c.code) || r.code == 0 || !strings.Contains(r.stderr, c.want) ||
			(c.notWant != "" && strings.Contains(r.stderr, c.notWant)) {
			t.Errorf("%s: exit %d (want %d), stderr %q: want %q in it, not %q", c.name, r.code, c.code, r.stderr, c.want, c.notWant)
		}
	}
}

func TestRunPassesArgs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "args.lua")
	os.WriteFile(p, []byte("print(arg[0], #arg, ...)\n"), 0o644)
	r := run(t, "", nil, "run", p, "--", "--to", "db2")
	want := p + "\t2\t--to\tdb2\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("run with args: code %d stdout %q want %q stderr %q", r.code, r.stdout, want, r.stderr)
	}
}

func TestScriptFromStdin(t *testing.T) {
	r := run(t, "print('from stdin')", nil)
	if r.code != 0 || r.stdout != "from stdin\n" {
		t.Errorf("stdin script: %+v", r)
	}
}

// tempWriter writes files into a directory of the test's and returns
// their paths.
func tempWriter(t *testing.T) func(name, src string) string {
	dir := t.TempDir()
	return func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

func TestExitCodes(t *testing.T) {
	write := tempWriter(t)
	luaErr := write("fails.lua", "local x = 1\n\nerror('boom')\n")
	syntax := write("syntax.lua", "local = 1\n")
	exits := write("exits.lua", "os.exit(7)\n")
	badDep := write("dep.lua", "return { servers = { db1 = { hots = 'x' } } }\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"lua error names file and line", []string{"run", luaErr}, 1, luaErr + ":3: boom"},
		{"syntax error is input error", []string{"run", syntax}, 2, "syntax.lua"},
		{"os.exit code", []string{"run", exits}, 7, ""},
		{"missing playbook", []string{"run", filepath.Join(filepath.Dir(luaErr), "nope.lua")}, 2, "no such playbook file"},
		{"unknown flag", []string{"--bogus"}, 2, "unknown flag: --bogus"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"bad deployment", []string{"-d", badDep, "-e", "print(1)"}, 2, "dep.lua:1: server db1: unknown option hots (did you mean host?)"},
		{"missing deployment", []string{"-d", filepath.Join(filepath.Dir(luaErr), "none.lua"), "-e", "print(1)"}, 2, "none.lua"},
		{"unknown server option", []string{"-e", "replicant.server('h:1', {prot=1})"}, 1, "(command line):1: server: unknown option prot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("code %d (want %d), stderr %q (want %q)", r.code, tt.code, r.stderr, tt.stderr)
			}
		})
	}
}

func TestBundledProcedureUnknown(t *testing.T) {
	r := run(t, "", nil, "run", "no_such_proc")
	if r.code != 2 || !strings.Contains(r.stderr, "bundled: ") || !strings.Contains(r.stderr, "ping") {
		t.Errorf("%+v", r)
	}
}

// doc lists every bundled procedure and module with one line each, and
// prints one file's whole comment.
func TestDoc(t *testing.T) {
	r := run(t, "", nil, "doc")
	if r.code != 0 {
		t.Fatalf("doc: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"\n  switchover       hand the primary role to a replica",
		"\n  check            the health report.\n", "\n  commands         the Python Replicant's commands"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doc lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if len([]rune(line)) > 80 {
			t.Errorf("line wider than 80 columns: %q", line)
		}
	}
	r = run(t, "", nil, "doc", "switchover")
	if r.code != 0 || !strings.Contains(r.stdout, "replicant-lua -d dep.lua run switchover -- --to db2") {
		t.Errorf("doc switchover: exit %d:\n%s", r.code, r.stdout)
	}
	r = run(t, "", nil, "doc", "nope")
	if r.code != 2 || !strings.Contains(r.stderr, `no bundled procedure or module "nope"`) {
		t.Errorf("doc nope: exit %d: %s", r.code, r.stderr)
	}
}
