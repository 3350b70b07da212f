package tests

import (
	"os"
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

func TestVersionFlag(t *testing.T) {
	r := run(t, "", nil, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "replicant-lua ") {
		t.Errorf("--version: %+v", r)
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

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
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
		{"missing playbook", []string{"run", filepath.Join(dir, "nope.lua")}, 2, "no such playbook file"},
		{"unknown flag", []string{"--bogus"}, 2, "unknown flag: --bogus"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"bad deployment", []string{"-d", badDep, "-e", "print(1)"}, 2, "server db1: unknown option hots"},
		{"missing deployment", []string{"-d", filepath.Join(dir, "none.lua"), "-e", "print(1)"}, 2, "none.lua"},
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
