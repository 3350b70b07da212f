package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// serverState is what a dry run must leave as it found: the process, its
// option file, its read_only flag, max_connections and a table's rows.
type serverState struct {
	pid            string
	optionFile     string
	readOnly       any
	maxConnections any
	rows           any
}

func stateOf(t *testing.T, in sandbox.Instance, sv *server.Server) serverState {
	t.Helper()
	pid, err := os.ReadFile(filepath.Join(filepath.Dir(in.DefaultsFile), "mysqld.pid"))
	if err != nil {
		pid = []byte(err.Error())
	}
	file, err := os.ReadFile(in.DefaultsFile)
	if err != nil {
		t.Fatal(err)
	}
	row, err := sv.QueryRow(context.Background(), "SELECT COUNT(*) AS n FROM dry.t")
	if err != nil {
		t.Fatal(err)
	}
	return serverState{pid: strings.TrimSpace(string(pid)), optionFile: string(file),
		readOnly: variable(t, sv, "read_only"), maxConnections: variable(t, sv, "max_connections"), rows: row["n"]}
}

// A dry run runs only what is known to change nothing. Each case, run
// for real, would change db1 (or fail on it); in a dry run db1, its pid
// and its option file stay exactly as they were, and the plan lists the
// change.
func TestDryRunChangesNothing(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	db1 := connect(t, sb, sb.Primary())
	execAll(t, db1, "CREATE DATABASE dry", "CREATE TABLE dry.t (id INT PRIMARY KEY)", "INSERT INTO dry.t VALUES (1), (2)")
	mark := filepath.Join(t.TempDir(), "hook-ran")
	image := filepath.Join(t.TempDir(), "image")
	cases := []struct{ name, code, plan string }{
		{"set global", `db1:exec("SET @@GLOBAL.read_only = 1")`, "db1 (127.0.0.1:"},
		{"persist", `db1:exec("SET @@PERSIST.max_connections = 10")`, ": SET @@PERSIST.max_connections = 10"},
		{"multi-assignment", `db1:exec("SET @x = 1, GLOBAL read_only = 1")`, ": SET @x = 1, GLOBAL read_only = 1"},
		{"cte delete", `db1:exec("WITH x AS (SELECT id FROM dry.t) DELETE FROM dry.t WHERE id IN (SELECT id FROM x)")`,
			": WITH x AS (SELECT id FROM dry.t) DELETE"},
		{"comment before set global", `db1:exec("/* tidy */ SET GLOBAL max_connections = 11")`, "SET GLOBAL max_connections = 11"},
		{"restart", `db1:restart()`, ": machine: restart (through "},
		{"option file save", `local c = db1:config(); c:set("read-only", "1"); c:save()`, "+read-only = 1"},
		{"shell hook", `replicant.shell("touch ` + mark + `")`, "shell: sh -c \"touch " + mark + "\""},
		{"backup and restore", `replicant.backup{ server = db1, to = "` + image + `" }
replicant.restore{ server = db1, image = "` + image + `" }`, "backup: logical backup into " + image},
		// The account statements carry the replication password: the plan
		// shows them redacted.
		{"imbue", `db1:imbue(replicant.roles.master{ options = { ["max-connections"] = 77 } })`,
			"IDENTIFIED BY '<redacted>'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := stateOf(t, sb.Primary(), db1)
			r := run(t, "", nil, "-d", sb.DeploymentPath, "--dry-run", "-e", `local db1 = replicant.server("db1")
`+c.code+`
print("read_only", db1:variable("read_only"))`)
			if r.code != 0 || !strings.Contains(r.stdout, "change(s) would be made") || !strings.Contains(r.stdout, c.plan) {
				t.Errorf("exit %d; want the plan to show %q\nstdout:\n%s\nstderr:\n%s", r.code, c.plan, r.stdout, r.stderr)
			}
			assertNoSecrets(t, sb, r.stdout, r.stderr)
			if after := stateOf(t, sb.Primary(), db1); after != before {
				t.Errorf("db1 changed by a dry run:\nbefore %+v\nafter  %+v", before, after)
			}
			if _, err := os.Stat(mark); err == nil {
				t.Errorf("the shell hook ran in a dry run")
			}
			if _, err := os.Stat(image); err == nil {
				t.Errorf("a dry run took a backup")
			}
			if c.name == "backup and restore" && !strings.Contains(r.stdout, "restore: restore "+image+" into it") {
				t.Errorf("the restore is not in the plan:\n%s", r.stdout)
			}
			// The read after the skipped change ran on a db1 without it.
			unverified := strings.Contains(r.stdout, "their answers are unverified") &&
				strings.Contains(r.stdout, ": SELECT @@GLOBAL.read_only")
			if c.name != "shell hook" && !unverified {
				t.Errorf("the read after the skipped change is not marked unverified:\n%s", r.stdout)
			}
		})
	}
}

// --dry-run run rolling_restart restarts nothing and writes no option
// file; the plan names the restarts and the writes.
func TestDryRunRollingRestart(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	svs := map[string]*server.Server{}
	before := map[string]serverState{}
	for _, in := range sb.Instances {
		svs[in.Name] = connect(t, sb, in)
	}
	execAll(t, svs["db1"], "CREATE DATABASE dry", "CREATE TABLE dry.t (id INT PRIMARY KEY)")
	caughtUp(t, svs, "db2", "db3")
	for _, in := range sb.Instances {
		before[in.Name] = stateOf(t, in, svs[in.Name])
	}
	r := run(t, "", nil, "-d", sb.DeploymentPath, "--dry-run", "--json", "--timeout", "2m", "run", "rolling_restart")
	for _, in := range sb.Instances {
		if after := stateOf(t, in, svs[in.Name]); after != before[in.Name] {
			t.Errorf("%s changed by a dry run:\nbefore %+v\nafter  %+v", in.Name, before[in.Name], after)
		}
	}
	// The replicas first, then the old primary after the planned switchover.
	if n := strings.Count(r.stdout, `"sql": "restart (through`); r.code != 0 || n < 3 || !strings.Contains(r.stdout, `"kind": "machine"`) ||
		!strings.Contains(r.stdout, `"unverified": [`) {
		t.Errorf("exit %d, plan: %d restarts; want every server's, and their later reads unverified\nstdout:\n%s\nstderr:\n%s",
			r.code, n, r.stdout, r.stderr)
	}
	// The per-server lines say what would happen; under --json they are on
	// stderr.
	for _, want := range []string{"rolling_restart: would restart db2 and wait until it has caught up with db1",
		"rolling_restart: would restart db3 and wait", "rolling_restart: would switch over from db1 to db2",
		"rolling_restart: would restart db1 and wait"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "rolling_restart: restarting") {
		t.Errorf("a dry run says it restarts:\n%s", r.stderr)
	}
}
