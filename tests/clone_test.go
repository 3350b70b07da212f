package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// cloneSetup gives db1 a table, gives db2 (the clone's source) a heartbeat
// of its own, and makes db3 a server to rebuild: out of replication, its
// data gone.
const cloneSetup = `
local rep = require "replicant"
local db1, db2 = rep.server("db1"), rep.server("db2")
if not db1:query_row("SHOW DATABASES LIKE 's'") then
  db1:exec("CREATE DATABASE s")
  db1:exec("CREATE TABLE s.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
  db2:stop_replica()
  db2:change_source(db1, { heartbeat = "2.5s" })
  db2:start_replica()
  assert(db2:wait_replicating { timeout = "10s" })
end
db1:exec("INSERT INTO s.t (v) VALUES (1)")
local db3 = rep.server("db3")
assert(db3:wait_for(db1:gtid_executed(), { timeout = "10s" }))
db3:stop_replica()
db3:reset_replica { all = true }
db3:exec("SET SESSION sql_log_bin = 0")
db3:exec("DROP DATABASE s")
`

// cloneCheck: db3 replicates from db1 with db2's connection settings
// (the sandbox's connect_retry of 1 s, not MariaDB's 60; db2's 2.5 s
// heartbeat, not the default 30) and has db1's rows.
const cloneCheck = `
local rep = require "replicant"
local db1, db3 = rep.server("db1"), rep.server("db3")
assert(db3:wait_for(db1:gtid_executed(), { timeout = "10s" }))
local st = db3:replica_status()
assert(st.connect_retry == 1, "connect_retry " .. tostring(st.connect_retry))
assert(st.heartbeat == 2.5, "heartbeat " .. tostring(st.heartbeat))
local a = db1:query_row("SELECT COUNT(*) AS n FROM s.t").n
local b = db3:query_row("SELECT COUNT(*) AS n FROM s.t").n
assert(a == b, string.format("db1 has %d rows, db3 %d", a, b))
`

func cloneRun(t *testing.T, sb *sandbox.Sandbox, env []string, args ...string) result {
	t.Helper()
	r := run(t, "", env, append([]string{"-d", sb.DeploymentPath, "--timeout", "2m"}, args...)...)
	assertNoSecrets(t, sb, r.stdout, r.stderr)
	return r
}

func cloneEval(t *testing.T, sb *sandbox.Sandbox, code string) {
	t.Helper()
	if r := cloneRun(t, sb, nil, "-e", code); r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Errorf("output lacks %q:\n%s", l, out)
		}
	}
}

// entries lists what dir holds.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// A clone says what each phase did, leaves no temporary image behind
// (done, failed, or kept on request and then named), names the previous
// datadir a physical restore left, and gives the new replica its
// siblings' connection settings.
func TestCloneTidiness(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})

	t.Run("logical", func(t *testing.T) {
		tmp := t.TempDir()
		cloneEval(t, sb, cloneSetup)
		r := cloneRun(t, sb, []string{"TMPDIR=" + tmp}, "run", "clone", "--", "--from", "db2", "--to", "db3")
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		wantLines(t, r.stdout, "clone: backup of db2 taken: "+tmp+"/replicant-clone-db3-",
			"clone: restored into db3\n",
			"clone: db3 replicating from db1 with db2's connection settings (connect_retry 1, heartbeat 2.5",
			"clone: db3 has caught up with db1", "clone: image "+tmp+"/replicant-clone-db3-", " removed\n")
		if left := entries(t, tmp); len(left) != 0 {
			t.Errorf("left in TMPDIR: %v", left)
		}
		cloneEval(t, sb, cloneCheck)
	})

	t.Run("keep", func(t *testing.T) {
		tmp := t.TempDir()
		cloneEval(t, sb, cloneSetup)
		r := cloneRun(t, sb, []string{"TMPDIR=" + tmp}, "run", "clone", "--", "--from", "db2", "--to", "db3", "--keep")
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		m := regexp.MustCompile(`clone: the image is kept at (\S+)\n`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("the kept image is not named:\n%s", r.stdout)
		}
		if _, err := os.Stat(filepath.Join(m[1], "manifest.json")); err != nil || filepath.Dir(m[1]) != tmp {
			t.Errorf("kept image %s: %v", m[1], err)
		}
		cloneEval(t, sb, cloneCheck)
	})

	t.Run("physical", func(t *testing.T) {
		tmp := t.TempDir()
		cloneEval(t, sb, cloneSetup)
		r := cloneRun(t, sb, []string{"TMPDIR=" + tmp}, "--json", "run", "clone", "--", "--from", "db2", "--to", "db3",
			"--method", "physical")
		if r.code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		var doc struct {
			Result struct {
				OldDataDir string `json:"old_datadir"`
				Image      *string
				Target     string
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
		}
		old := doc.Result.OldDataDir
		if !strings.Contains(old, ".old-") || doc.Result.Target != "db3" || doc.Result.Image != nil {
			t.Errorf("result: %+v", doc.Result)
		}
		if _, err := os.Stat(old); err != nil {
			t.Errorf("old datadir: %v", err)
		}
		// --json keeps stdout for the document: the phases went to stderr.
		wantLines(t, r.stderr, "clone: restored into db3; its previous datadir is kept at "+old+": delete it")
		if left := entries(t, tmp); len(left) != 0 {
			t.Errorf("left in TMPDIR: %v", left)
		}
		cloneEval(t, sb, cloneCheck)
	})

	// A physical restore into a server whose deployment entry has no
	// machine fails after the backup was taken: the image goes all the same.
	t.Run("failed", func(t *testing.T) {
		tmp := t.TempDir()
		cloneEval(t, sb, cloneSetup)
		dep, err := os.ReadFile(sb.DeploymentPath)
		if err != nil {
			t.Fatal(err)
		}
		noMachine := regexp.MustCompile(`(db3 = \{[^\n]*),\n\s*machine = \{[^}]*\} \}`).ReplaceAllString(string(dep), "$1 }")
		if noMachine == string(dep) {
			t.Fatalf("db3's machine not found in:\n%s", dep)
		}
		path := filepath.Join(filepath.Dir(sb.DeploymentPath), "no-machine.lua")
		if err := os.WriteFile(path, []byte(noMachine), 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, "", []string{"TMPDIR=" + tmp}, "-d", path, "--timeout", "2m", "run", "clone", "--",
			"--from", "db2", "--to", "db3", "--method", "physical")
		if r.code != 1 || !strings.Contains(r.stderr, "needs machine control") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		wantLines(t, r.stdout, "clone: backup of db2 taken: "+tmp, "clone: image "+tmp+"/replicant-clone-db3-")
		if left := entries(t, tmp); len(left) != 0 {
			t.Errorf("left in TMPDIR after a failure: %v", left)
		}
	})
}
