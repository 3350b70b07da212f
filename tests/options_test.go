package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These need no server: the bundled procedures' options are checked
// before anything connects, so every usage error is seen with a
// deployment whose servers do not run.

func fakeDeployment(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dep.lua")
	src := `return { user = { name = "root", password = "" }, servers = { db1 = { host = "127.0.0.1", port = 1 }, db2 = { host = "127.0.0.1", port = 2 },
  db3 = { host = "127.0.0.1", port = 3 } } }`
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every mistake in how a procedure is asked for exits 2 with a message
// that names the option and what would be right, and no Lua file path
// or traceback.
func TestOptionsUsageErrors(t *testing.T) {
	dep := fakeDeployment(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown option", []string{"-d", dep, "run", "switchover", "--", "--to", "db2", "--tox", "1"},
			[]string{"switchover: unknown option --tox (did you mean --to?) (valid: --to, --expect-primary, --max-lag,", "--skip)"}},
		{"wrong type", []string{"-d", dep, "run", "switchover", "--", "--to", "db2", "--max-lag", "soon"},
			[]string{`switchover: --max-lag: "soon" is not a duration like "30s", "2m" or "500ms"`}},
		{"boolean with a value", []string{"-d", dep, "run", "rolling_restart", "--", "--back=1"},
			[]string{`rolling_restart: --back: "1" is not true or false`}},
		{"missing value", []string{"-d", dep, "run", "relocate", "--", "--replica", "db3", "--below"},
			[]string{"relocate: --below needs a value: a server name"}},
		{"missing required", []string{"-d", dep, "run", "switchover"},
			[]string{"switchover: --to is required (the replica to promote)"}},
		{"missing required of two", []string{"-d", dep, "run", "clone", "--", "--from", "db2"},
			[]string{"clone: --to is required"}},
		{"server not in the deployment", []string{"-d", dep, "run", "switchover", "--", "--to", "db9"},
			[]string{`switchover: --to db9: no server named "db9" in the deployment (servers: db1, db2, db3; or give host:port)`}},
		{"one of a list not in the deployment", []string{"-d", dep, "run", "failover", "--", "--candidates", "db2,db7"},
			[]string{`failover: --candidates db7: no server named "db7"`}},
		{"no deployment", []string{"run", "failover"},
			[]string{"failover: needs a deployment: give one with -d FILE"}},
		{"no deployment, no --from", []string{"run", "status"},
			[]string{"status: needs a deployment", "or give --from"}},
		{"option without --", []string{"-d", dep, "run", "switchover", "--to", "db2"},
			[]string{`switchover: its options follow "--": replicant-lua -d ` + dep + ` run switchover -- --to db2`}},
		{"option without -- nor -d", []string{"run", "rejoin", "--server", "db1"},
			[]string{"replicant-lua -d DEPLOYMENT.lua run rejoin -- --server db1"}},
		{"global flag after --", []string{"-d", dep, "run", "switchover", "--", "--dry-run", "--to", "db2"},
			[]string{`switchover: --dry-run is a flag of replicant-lua, not an option of switchover: put it before "--"`}},
		{"--yes after --", []string{"-d", dep, "run", "promote", "--", "--server", "db1", "--yes"},
			[]string{"promote: --yes is a flag of replicant-lua", "replicant-lua --yes run promote"}},
		{"global flag after run", []string{"-d", dep, "run", "switchover", "--dry-run", "--", "--to", "db2"},
			[]string{"--dry-run is a flag of replicant-lua: put it before run"}},
		{"global flag between run and the name", []string{"-d", dep, "run", "--dry-run", "switchover", "--", "--to", "db2"},
			[]string{"--dry-run is a flag of replicant-lua: put it before run"}},
		{"positional argument", []string{"-d", dep, "run", "switchover", "--", "db2"},
			[]string{`switchover: unexpected argument "db2" (options are --name value;`}},
		{"hook on the command line", []string{"-d", dep, "run", "switchover", "--", "--to", "db2", "--on-step", "x"},
			[]string{"unknown option --on-step"}},
		{"option given twice", []string{"-d", dep, "run", "switchover", "--", "--to", "db2", "--to", "db3"},
			[]string{"switchover: --to given twice"}},
		{"not one of the choices", []string{"-d", dep, "run", "clone", "--", "--from", "db2", "--to", "db3", "--method", "rsync"},
			[]string{`clone: --method: "rsync" is not one of logical, physical`}},
		{"ping takes none", []string{"-d", dep, "run", "ping", "--", "--all"},
			[]string{"ping: unknown option --all (it takes none)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", nil, tt.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "stdlib/") || strings.Contains(r.stderr, "traceback") ||
				strings.Contains(r.stderr, "procedure steps") || r.stdout != "" {
				t.Errorf("want one clean line on stderr, got stdout %q stderr %q", r.stdout, r.stderr)
			}
		})
	}
}

// With --json the usage error is the document, with exit code 2.
func TestOptionsUsageErrorJSON(t *testing.T) {
	r := run(t, "", nil, "-d", fakeDeployment(t), "--json", "run", "switchover", "--", "--to", "db9")
	var doc struct {
		OK       bool `json:"ok"`
		ExitCode int  `json:"exit_code"`
		Error    struct{ Message string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	if r.code != 2 || doc.OK || doc.ExitCode != 2 || !strings.Contains(doc.Error.Message, `no server named "db9"`) {
		t.Errorf("exit %d, document %+v", r.code, doc)
	}
}

// Options that parse get past the check: the run then fails connecting
// (exit 1; status prints the unreachable tree), not on its command line. Durations take units, booleans are
// bare flags, lists take commas, addresses are accepted.
func TestOptionsAccepted(t *testing.T) {
	dep := fakeDeployment(t)
	for _, args := range [][]string{
		{"run", "switchover", "--", "--to", "db2", "--max-lag", "10s", "--long-query", "2m", "--lock-wait", "500ms",
			"--kill-first", "--skip", "db3", "--wait-timeout=5"},
		{"run", "promote", "--", "--server", "db1", "--wait-timeout", "1s"},
		{"--yes", "run", "promote", "--", "--server", "db1"},
		{"run", "failover", "--", "--force", "--candidates", "db2,db3", "--confirm-timeout", "1s"},
		{"run", "rolling_restart", "--", "--back", "--max-lag", "10s"},
		{"run", "status", "--", "--from", "127.0.0.1:1"},
	} {
		r := run(t, "", nil, append([]string{"-d", dep, "--timeout", "20s"}, args...)...)
		if r.code == 2 || strings.Contains(r.stderr, "option") {
			t.Errorf("%v: exit %d (want 0 or 1: past the options), stderr %q", args, r.code, r.stderr)
		}
	}
	// Without a deployment, status discovers from --from.
	r := run(t, "", nil, "--timeout", "20s", "run", "status", "--", "--from", "127.0.0.1:1")
	if r.code == 2 || strings.Contains(r.stderr, "needs a deployment") {
		t.Errorf("status --from without -d: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A table call from a playbook is checked by the same parser, strictly:
// a wrong type fails that playbook (exit 1) at its own line.
func TestOptionsTableCall(t *testing.T) {
	dep := fakeDeployment(t)
	for _, tt := range []struct{ code, want string }{
		{`require("replicant.rolling_restart").run { back = 1 }`,
			"(command line):1: rolling_restart: option back: want a boolean (true or false), got number 1"},
		{`require("replicant.switchover").run { to = "db2", tox = 1 }`,
			"(command line):1: switchover: unknown option tox (did you mean to?) (valid: to, expect_primary, max_lag,"},
		{`require("replicant.switchover").run { to = "db9" }`, `switchover: option to: no server named "db9"`},
		{`require("replicant.relocate").run { replica = "db3" }`, "relocate: option below is required"},
	} {
		r := run(t, "", nil, "-d", dep, "-e", tt.code)
		if r.code != 1 || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stderr, "procedure steps") {
			t.Errorf("%s: exit %d, stderr %q, want %q alone", tt.code, r.code, r.stderr, tt.want)
		}
	}
	play := filepath.Join(t.TempDir(), "play.lua")
	os.WriteFile(play, []byte("local sw = require \"replicant.switchover\"\n\nsw.run { to = \"db2\", max_lag = true }\n"), 0o644)
	r := run(t, "", nil, "-d", dep, "run", play)
	if want := play + ":3: switchover: option max_lag: want a duration"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("playbook: exit %d, stderr %q, want %q", r.code, r.stderr, want)
	}
}

// run NAME --help prints the procedure's doc and options on stdout, as
// doc NAME does.
func TestOptionsHelp(t *testing.T) {
	for _, args := range [][]string{{"doc", "switchover"}, {"run", "switchover", "--help"}, {"run", "switchover", "-h"},
		{"run", "switchover", "--", "--to", "db2", "--help"}, {"-d", "/nonexistent.lua", "run", "switchover", "--help"}} {
		r := run(t, "", nil, args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		for _, want := range []string{"switchover: hand the primary role", "\nOptions (replicant-lua -d DEPLOYMENT.lua run switchover -- --option value):\n",
			"\n  --to SERVER                the replica to promote (required)\n", "--max-lag DURATION", "(default 10s)",
			"\n  --kill-first ", "--skip SERVER,...", "From Lua only", "\n  on_step "} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: stdout lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
	r := run(t, "", nil, "doc", "rolling_restart")
	if r.code != 0 || !strings.Contains(r.stdout, "\n  --back ") || !strings.Contains(r.stdout, "--wait-timeout DURATION") {
		t.Errorf("doc rolling_restart: exit %d\n%s", r.code, r.stdout)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if len([]rune(line)) > 80 {
			t.Errorf("doc rolling_restart: line wider than 80 columns: %q", line)
		}
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := run(t, "", nil, "completion", sh)
		if r.code != 0 || !strings.Contains(r.stdout, "__complete") {
			t.Fatalf("completion %s: exit %d %s", sh, r.code, r.stderr)
		}
		path, err := exec.LookPath(sh)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Errorf("%s is not installed (scripts/install-deps.sh installs it): its script cannot be checked", sh)
			} else {
				t.Logf("%s is not installed: its script is not syntax-checked", sh)
			}
			continue
		}
		check := exec.Command(path, "-n")
		if sh == "fish" {
			check = exec.Command(path, "--no-execute")
		}
		check.Stdin = strings.NewReader(r.stdout)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", sh, err, out)
		}
	}
	// The bash function itself, as bash calls it on a tab.
	script := run(t, "", nil, "completion", "bash").stdout
	dep := fakeDeployment(t)
	fn := exec.Command("bash", "-c", script+`COMP_WORDS=("$1" -d "$2" run switchover -- --to ""); COMP_CWORD=7
_replicant_lua; echo "${COMPREPLY[*]}"`, "bash", binary(t), dep)
	if out, err := fn.CombinedOutput(); err != nil || string(out) != "db1 db2 db3\n" {
		t.Errorf("_replicant_lua: %v: %q", err, out)
	}
	if r := run(t, "", nil, "completion", "tcsh"); r.code != 2 {
		t.Errorf("completion tcsh: exit %d", r.code)
	}
}

func TestCompletionCandidates(t *testing.T) {
	dep := fakeDeployment(t)
	for _, tt := range []struct {
		words []string
		want  string
	}{
		{[]string{""}, "run repl doc help sandbox test watch completion"},
		{[]string{"--dry"}, "--dry-run"},
		{[]string{"-d", dep, "run", ""}, "check clone failover ping promote recover rejoin relocate rolling_restart status switchover"},
		{[]string{"run", "re"}, "recover rejoin relocate"},
		{[]string{"run", "switchover", ""}, "-- --help"},
		{[]string{"run", "relocate", "--", ""}, "--replica --below --wait-timeout"},
		{[]string{"run", "relocate", "--", "--replica", "db3", "--"}, "--below --wait-timeout"},
		{[]string{"-d", dep, "run", "switchover", "--", "--to", ""}, "db1 db2 db3"},
		{[]string{"--deployment=" + dep, "run", "switchover", "--", "--to", "db2", "--skip", "db1,d"}, "db1,db1 db1,db2 db1,db3"},
		{[]string{"run", "switchover", "--", "--to", ""}, ""}, // no deployment: no names
		{[]string{"-d", ""}, ""}, // a file: the shell completes it
		{[]string{"doc", "sw"}, "switchover"},
		{[]string{"run", "clone", "--", "--method", ""}, "logical physical"},
		{[]string{"completion", ""}, "bash zsh fish"},
		{[]string{"sandbox", ""}, "up down status"},
	} {
		r := run(t, "", nil, append([]string{"__complete"}, tt.words...)...)
		got := strings.Join(strings.Fields(r.stdout), " ")
		if r.code != 0 || got != tt.want {
			t.Errorf("__complete %q: exit %d, got %q, want %q", tt.words, r.code, got, tt.want)
		}
	}
}
