package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// auditLine is one line of an audit file, decoded.
type auditLine map[string]any

func (l auditLine) str(k string) string { s, _ := l[k].(string); return s }

// readAudit decodes an audit file and groups its lines by run, in order.
func readAudit(t *testing.T, path string) (runs []string, byRun map[string][]auditLine) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	byRun = map[string][]auditLine{}
	for i, raw := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var l auditLine
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, raw)
		}
		id := l.str("run_id")
		if id == "" {
			t.Fatalf("line %d has no run_id: %s", i+1, raw)
		}
		if _, ok := byRun[id]; !ok {
			runs = append(runs, id)
		}
		byRun[id] = append(byRun[id], l)
	}
	return runs, byRun
}

// fileHasNoSecrets fails when the file holds one of secrets.
func fileHasNoSecrets(t *testing.T, path string, secrets ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			t.Errorf("the audit file holds the secret %q:\n%s", s, b)
		}
	}
}

// A switchover fails after fencing the primary (its candidate cannot
// apply the last write: its SQL thread was stopped) and is undone; a second run
// appends to the same file. From the audit file alone: each run has its
// own id on every line, a header and a footer with its exit code; the
// failed run's steps have their state and duration, the rollback says why
// and how many undos it runs, and each undo its result.
func TestAuditReconstructsFailedSwitchover(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	const userPw, literalPw = "Aud1t-Us3r-Pw", "L1teral-Pw"
	r := run(t, "", nil, "-d", sb.DeploymentPath, "--audit", file, "-e", `
local rep = require "replicant"
local db1, db2 = rep.server("db1"), rep.server("db2")
db1:exec("CREATE DATABASE IF NOT EXISTS aud")
db1:exec("CREATE TABLE IF NOT EXISTS aud.t (id INT PRIMARY KEY, v VARCHAR(20))")
db1:exec("INSERT INTO aud.t VALUES (?, ?)", 41, "forty-one")
db1:exec("CREATE USER IF NOT EXISTS 'aud'@'%' IDENTIFIED BY ?", "`+userPw+`")
-- Refused (db3's replication runs), and audited without its literal.
assert(not pcall(rep.server("db3").exec, rep.server("db3"), "CHANGE MASTER TO MASTER_PASSWORD='`+literalPw+`'"))
require("replicant.switchover").run { to = "db2", max_block = "5s", on_step = function(name)
  if name == "fence db1: read_only" then
    db2:exec("STOP SLAVE SQL_THREAD")
    db1:exec("INSERT INTO aud.t VALUES (?, ?)", 42, "forty-two")
  end
end }`)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r2 := run(t, "", nil, "-d", sb.DeploymentPath, "--audit", file, "-e", `print("second")`); r2.code != 0 {
		t.Fatalf("second run: exit %d\n%s", r2.code, r2.stderr)
	}
	c1 := connect(t, sb, sb.Instances[0])
	if ro := variable(t, c1, "read_only"); fmt.Sprint(ro) != "0" {
		t.Errorf("db1 read_only %v after the undo, want 0", ro)
	}
	execAll(t, connect(t, sb, sb.Instances[1]), "START SLAVE SQL_THREAD")

	fileHasNoSecrets(t, file, append(secrets(t, sb), userPw, literalPw)...)
	runs, byRun := readAudit(t, file)
	if len(runs) != 2 {
		t.Fatalf("%d run ids in the file, want 2: %v", len(runs), runs)
	}
	lines := byRun[runs[0]]
	head, foot := lines[0], lines[len(lines)-1]
	if head.str("type") != "run_start" || head.str("deployment") != sb.DeploymentPath || head.str("user") == "" ||
		head.str("host") == "" || head.str("version") == "" || head["dry_run"] != false {
		t.Errorf("header: %v", head)
	}
	if cmd := fmt.Sprint(head["command"]); !strings.Contains(cmd, "--audit") || !strings.Contains(cmd, "replicant.switchover") {
		t.Errorf("header command: %s", cmd)
	}
	if foot.str("type") != "run_end" || foot["exit_code"] != 1.0 || foot.str("outcome") != "failed" ||
		!strings.Contains(foot.str("error"), "wait") || foot["duration_ms"] == nil {
		t.Errorf("footer: %v", foot)
	}
	if strings.Contains(foot.str("error"), "procedure steps:") {
		t.Errorf("the footer's error carries the report: %v", foot)
	}

	// The run as the audit file tells it.
	var story []string
	var sawValues bool
	for _, l := range lines {
		switch l.str("type") {
		case "statement":
			if l.str("sql") == "INSERT INTO aud.t VALUES (?, ?)" && fmt.Sprint(l["values"]) == "[42 forty-two]" {
				sawValues = true
			}
			if strings.Contains(l.str("sql"), "IDENTIFIED BY") && fmt.Sprint(l["values"]) != "[<redacted>]" {
				t.Errorf("a password statement's values: %v", l)
			}
		case "step", "undo":
			if l.str("procedure") != "switchover" {
				continue
			}
			s := l.str("type") + " " + l.str("name") + ": " + l.str("state")
			if l.str("state") != "started" {
				if _, ok := l["duration_ms"].(float64); !ok {
					t.Errorf("no duration: %v", l)
				}
			}
			story = append(story, s)
		case "rollback":
			if l.str("name") != "switchover" {
				t.Errorf("rollback named %q, want switchover: %v", l.str("name"), l)
			}
			if l.str("state") == "started" {
				story = append(story, fmt.Sprintf("rollback: %v pending, cause %q", l["pending"], l.str("cause")))
			} else {
				story = append(story, fmt.Sprintf("rollback %s: %v undone, %v failed", l.str("state"), l["undone"], l["undo_failed"]))
			}
		case "procedure":
			story = append(story, "procedure "+l.str("name")+": "+l.str("state"))
		}
	}
	if !sawValues {
		t.Error("the INSERT's placeholder values are not in the file")
	}
	got := strings.Join(story, "\n")
	for _, want := range []string{
		"procedure switchover: started",
		"step fence db1: read_only: started\nstep fence db1: read_only: done",
		"step fence db1: FLUSH TABLES WITH READ LOCK: done",
		"step wait for db2 to apply ",
		"procedure switchover: failed",
		"rollback: ",
		"undo fence db1: FLUSH TABLES WITH READ LOCK: started\nundo fence db1: FLUSH TABLES WITH READ LOCK: done",
		"undo fence db1: read_only: started\nundo fence db1: read_only: done",
		"rollback done: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the story lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(got, ": failed\nprocedure switchover: failed") {
		t.Errorf("the wait step does not fail just before the procedure:\n%s", got)
	}
	for _, l := range lines {
		if l.str("type") == "rollback" && l.str("state") == "started" {
			if n, _ := l["pending"].(float64); n != 2 || !strings.Contains(l.str("cause"), "wait_for") {
				t.Errorf("rollback summary: %v", l)
			}
		}
	}

	second := byRun[runs[1]]
	if second[0].str("type") != "run_start" || second[len(second)-1].str("type") != "run_end" ||
		second[len(second)-1]["exit_code"] != 0.0 || second[len(second)-1].str("outcome") != "ok" {
		t.Errorf("second run: header %v, footer %v", second[0], second[len(second)-1])
	}
}

// A restart through the server's machine and an option-file write are in
// the audit file, done in a run and planned in a dry run: the file's
// path and each option changed with its value before and after, a
// password option redacted. No password appears anywhere.
func TestAuditMachineAndOptionFile(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	const filePw = "0pt1on-F1le-Pw"
	play := `
local db1 = replicant.server("db1")
local cfg = db1:config()
cfg:set("max_connections", "%s")
cfg:set("mysqladmin", "password", "` + filePw + `")
cfg:save()
db1:restart()
print(db1:variable("max_connections"))`
	r := run(t, "", nil, "-d", sb.DeploymentPath, "--audit", file, "-e", fmt.Sprintf(play, "77"))
	if r.code != 0 || strings.TrimSpace(r.stdout) != "77" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	dry := run(t, "", nil, "-d", sb.DeploymentPath, "--audit", file, "--dry-run", "-e", fmt.Sprintf(play, "88"))
	if dry.code != 0 {
		t.Fatalf("dry run: exit %d\n%s", dry.code, dry.stderr)
	}
	fileHasNoSecrets(t, file, append(secrets(t, sb), filePw)...)
	runs, byRun := readAudit(t, file)
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	for i, want := range []struct{ state, before, after string }{{"done", "", "77"}, {"planned", "77", "88"}} {
		var file, restart auditLine
		for _, l := range byRun[runs[i]] {
			switch l.str("type") {
			case "file":
				file = l
			case "machine":
				if l.str("action") == "restart" {
					restart = l
				}
			}
		}
		if restart == nil || restart.str("state") != want.state || !strings.Contains(restart.str("server"), "db1") {
			t.Errorf("run %d: restart line %v, want state %s", i+1, restart, want.state)
		}
		if file == nil || file.str("path") != sb.Instances[0].DefaultsFile || file.str("state") != want.state {
			t.Fatalf("run %d: file line %v, want %s of %s", i+1, file, want.state, sb.Instances[0].DefaultsFile)
		}
		changes := map[string][2]any{}
		for _, c := range file["changes"].([]any) {
			m := c.(map[string]any)
			changes[m["section"].(string)+"/"+m["name"].(string)] = [2]any{m["before"], m["after"]}
		}
		mc, ok := changes["mysqld/max_connections"]
		if !ok || mc[1] != want.after || (want.before != "" && mc[0] != want.before) {
			t.Errorf("run %d: max_connections change %v, want %q -> %q (changes %v)", i+1, mc, want.before, want.after, changes)
		}
		if i == 0 {
			if pw := changes["mysqladmin/password"]; pw[0] != nil || pw[1] != "<redacted>" {
				t.Errorf("password change %v, want null -> <redacted>", pw)
			}
		} else if _, ok := changes["mysqladmin/password"]; ok {
			t.Errorf("the dry run reports an unchanged password: %v", changes)
		}
	}
}
