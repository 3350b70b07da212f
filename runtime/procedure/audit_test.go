package procedure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// lines decodes an audit log, one object per line; every line must carry
// the run id.
func lines(t *testing.T, b []byte, runID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if m["run_id"] != runID {
			t.Errorf("line without the run id %q: %s", runID, l)
		}
		out = append(out, m)
	}
	return out
}

func TestAuditHeaderFooter(t *testing.T) {
	var buf bytes.Buffer
	a := NewAudit(&buf)
	a.Scrub("s3cr3t-pw", "pw") // too short to scrub
	a.Begin(Header{Command: []string{"replicant-lua", "-d", "dep.lua", "run", "x.lua", "--", "--repl-password", "s3cr3t-pw"},
		Deployment: "dep.lua", DryRun: true, Version: "1.2"})
	a.End(1, errors.New("switchover: db2: refused (password s3cr3t-pw)"))
	if strings.Contains(buf.String(), "s3cr3t-pw") {
		t.Fatalf("the secret is in the log:\n%s", buf.String())
	}
	ls := lines(t, buf.Bytes(), a.RunID())
	if len(ls) != 2 {
		t.Fatalf("%d lines:\n%s", len(ls), buf.String())
	}
	h, f := ls[0], ls[1]
	if h["type"] != "run_start" || h["deployment"] != "dep.lua" || h["dry_run"] != true || h["version"] != "1.2" ||
		h["user"] == "" || h["host"] == "" || h["start"] == nil {
		t.Errorf("header %v", h)
	}
	cmd := fmt.Sprint(h["command"])
	if want := "[replicant-lua -d dep.lua run x.lua -- --repl-password <redacted>]"; cmd != want {
		t.Errorf("command %s, want %s", cmd, want)
	}
	if f["type"] != "run_end" || f["exit_code"] != 1.0 || f["outcome"] != "failed" ||
		f["error"] != "switchover: db2: refused (password <redacted>)" || f["duration_ms"] == nil {
		t.Errorf("footer %v", f)
	}
	if NewAudit(&buf).RunID() == a.RunID() {
		t.Error("two runs share an id")
	}
}

func TestRedactCommand(t *testing.T) {
	cases := map[string]string{
		"--password=hunter2":                                  "--password=<redacted>",
		"repl_password=hunter2":                               "repl_password=<redacted>",
		`repl_user = { password = "hunter2" }`:                `repl_user = { password = <redacted> }`,
		"CHANGE MASTER TO MASTER_PASSWORD='hunter2'":          "CHANGE MASTER TO MASTER_PASSWORD=<redacted>",
		"CREATE USER u IDENTIFIED BY 'hunter2'":               "CREATE USER u IDENTIFIED BY '<redacted>'",
		"token: hunter2":                                      "token: <redacted>",
		"--timeout=5m":                                        "--timeout=5m",
		"switchover":                                          "switchover",
		`{ secret_key = 'a\'b', to = "db2" }`:                 `{ secret_key = <redacted>, to = "<redacted>" }`,
		`cfg:set("mysqladmin", "password", "hunter2")`:        `cfg:set("<redacted>", "<redacted>", "<redacted>")`,
		`db:exec("CREATE USER u IDENTIFIED BY ?", 'hunter2')`: `db:exec("CREATE USER u IDENTIFIED BY ?", '<redacted>')`,
		`db:exec("SELECT 1", "x-Pw")`:                         `db:exec("<redacted>", "<redacted>")`,
		"local pw = \"hunter2\"\nprint(\"db2\")":              "local pw = <redacted>\nprint(\"db2\")",
	}
	for in, want := range cases {
		if got := RedactCommand([]string{in})[0]; got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
	got := RedactCommand([]string{"x", "--pwd", "hunter2", "--to", "db2"})
	if strings.Join(got, " ") != "x --pwd <redacted> --to db2" {
		t.Errorf("flag with its value apart: %v", got)
	}
}

// A failed procedure reads from its lines alone: each step started and
// ended with its state and duration, the failed one with its error, then
// the rollback with its cause and pending count, each undo with its
// result, and the rollback's summary.
func TestAuditProcedureLines(t *testing.T) {
	var buf bytes.Buffer
	a := NewAudit(&buf)
	root := New(nil)
	root.Name = "playbook.lua"
	root.Event = a.Event
	root.Unknown = func(err error) bool { return errors.Is(err, errLost) }
	ctx := context.Background()
	sw := root.Begin("switchover")
	nop := func(context.Context) error { return nil }
	sw.Step(ctx, "fence db1", nop, nop)
	sw.Step(ctx, "repoint db3", nop, func(context.Context) error { return errors.New("db3 gone") })
	stepErr := sw.CheckedStep(ctx, "promote db2", func(context.Context) error { return errLost }, nop,
		func(context.Context) (bool, error) { return true, nil })
	root.End(sw, stepErr)

	ls := lines(t, buf.Bytes(), a.RunID())
	var got []string
	for _, l := range ls {
		s := fmt.Sprintf("%s %s %s", l["type"], l["name"], l["state"])
		switch {
		case l["state"] == StateStarted && l["type"] == "rollback":
			s += fmt.Sprintf(" pending=%v cause=%v", l["pending"], l["cause"])
		case l["type"] == "rollback":
			s += fmt.Sprintf(" undone=%v undo_failed=%v", l["undone"], l["undo_failed"])
		case l["state"] == StateFailed && l["type"] == "step":
			s += fmt.Sprintf(" outcome=%v error=%v undo_pending=%v", l["outcome"], l["error"], l["undo_pending"])
		case l["state"] == StateFailed:
			s += fmt.Sprintf(" error=%v", l["error"])
		}
		if l["state"] != StateStarted {
			if _, ok := l["duration_ms"].(float64); !ok {
				t.Errorf("no duration: %v", l)
			}
		}
		if l["type"] != "procedure" && l["type"] != "rollback" && l["procedure"] != "switchover" {
			t.Errorf("not in the switchover: %v", l)
		}
		got = append(got, s)
	}
	want := []string{
		"procedure switchover started",
		"step fence db1 started", "step fence db1 done",
		"step repoint db3 started", "step repoint db3 done",
		"step promote db2 started",
		"step promote db2 failed outcome=applied error=connection lost mid-statement undo_pending=true",
		"procedure switchover failed error=connection lost mid-statement",
		"rollback switchover started pending=3 cause=connection lost mid-statement",
		"undo promote db2 started", "undo promote db2 done",
		"undo repoint db3 started", "undo repoint db3 failed error=db3 gone",
		"undo fence db1 started", "undo fence db1 done",
		"rollback switchover failed undone=2 undo_failed=1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAuditStatementValues(t *testing.T) {
	var buf bytes.Buffer
	a := NewAudit(&buf)
	a.Statement(server.Statement{Server: "db1", SQL: "INSERT INTO t VALUES (?, ?)", Args: 2, Values: []any{int64(7), "x<y"},
		Start: time.Now(), Duration: 1500 * time.Microsecond, Rows: 1})
	a.Statement(server.Statement{Server: "db1", SQL: "restart (through local)", Planned: true, Kind: server.KindMachine})
	a.Statement(server.Statement{SQL: `sh -c "lb-switch --token=hunter2"`, Planned: true, Kind: server.KindShell})
	ls := lines(t, buf.Bytes(), a.RunID())
	if len(ls) != 2 {
		t.Fatalf("a planned machine action is the machine's to log, a shell hook the statement's:\n%s", buf.String())
	}
	if fmt.Sprint(ls[0]["values"]) != "[7 x<y]" || ls[0]["duration_ms"] != 1.5 || ls[0]["type"] != "statement" {
		t.Errorf("statement %v", ls[0])
	}
	if !strings.Contains(buf.String(), `"x<y"`) {
		t.Errorf("HTML escapes in the log: %s", buf.String())
	}
	if ls[1]["type"] != "shell" || ls[1]["planned"] != true || ls[1]["sql"] != `sh -c "lb-switch --token=<redacted>"` {
		t.Errorf("planned hook %v", ls[1])
	}
}

func TestAuditMachineAndFile(t *testing.T) {
	var buf bytes.Buffer
	a := NewAudit(&buf)
	start := time.Now()
	a.Machine(MachineAction{Server: "db1", Machine: "local process", Action: "restart", Start: start})
	a.Machine(MachineAction{Server: "db1", Machine: "local process", Action: "stop", Start: start,
		Err: fmt.Errorf("stop: %w", machine.ErrKilled)})
	a.Machine(MachineAction{Server: "db1", Machine: "local process", Action: "start", Planned: true, Start: start})
	before := "[client]\npassword = hunter2\n[mysqld]\nread_only = 0\nlog-slave-updates\nport = 3306\n"
	after := "[client]\npassword = hunter3\n[mysqld]\nread_only = 1\nport = 3306\nserver-id = 7\n"
	a.FileWrite(FileWrite{Server: "db1", Machine: "local process", Path: "/d/my.cnf", Before: []byte(before),
		After: []byte(after), Start: start})
	a.FileWrite(FileWrite{Server: "db1", Path: "/d/new.cnf", After: []byte("[mysqld]\nport=1\n"), Planned: true, Start: start})
	if strings.Contains(buf.String(), "hunter") {
		t.Fatalf("an option-file password is in the log:\n%s", buf.String())
	}
	ls := lines(t, buf.Bytes(), a.RunID())
	states := []string{}
	for _, l := range ls {
		states = append(states, fmt.Sprintf("%s %s %s killed=%v", l["type"], l["name"], l["state"], l["killed"]))
	}
	want := "machine restart done killed=<nil>,machine stop failed killed=true,machine start planned killed=<nil>," +
		"file /d/my.cnf done killed=<nil>,file /d/new.cnf planned killed=<nil>"
	if strings.Join(states, ",") != want {
		t.Errorf("got %s\nwant %s", strings.Join(states, ","), want)
	}
	changes := compact(ls[3]["changes"])
	wantChanges := `[{"after":"<redacted>","before":"<redacted>","name":"password","section":"client"},` +
		`{"after":"1","before":"0","name":"read_only","section":"mysqld"},` +
		`{"after":"7","before":null,"name":"server-id","section":"mysqld"},` +
		`{"after":null,"before":true,"name":"log-slave-updates","section":"mysqld"}]`
	if changes != wantChanges {
		t.Errorf("changes\n%s\nwant\n%s", changes, wantChanges)
	}
	if ls[3]["path"] != "/d/my.cnf" || ls[3]["server"] != "db1" {
		t.Errorf("file line %v", ls[3])
	}
	if c := compact(ls[4]["changes"]); c != `[{"after":"1","before":null,"name":"port","section":"mysqld"}]` {
		t.Errorf("new file changes %s", c)
	}
}

func compact(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSpace(b.String())
}
