package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// connect opens the tool's own account on one sandbox instance, for
// checking from Go what a playbook did.
func connect(t testing.TB, sb *sandbox.Sandbox, in sandbox.Instance) *server.Server {
	t.Helper()
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	sv, err := server.New(server.Config{Name: in.Name, Host: "127.0.0.1", Port: in.Port,
		User: sb.User.Name, Password: server.Secret(pw)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Close() })
	return sv
}

// secrets lists every password of the sandbox, to check none is printed.
func secrets(t testing.TB, sb *sandbox.Sandbox) []string {
	var out []string
	for _, c := range []sandbox.Credential{sb.User, sb.ReplUser, sb.AppUser} {
		pw, err := c.Password()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pw)
	}
	return out
}

func assertNoSecrets(t testing.TB, sb *sandbox.Sandbox, texts ...string) {
	t.Helper()
	for _, pw := range secrets(t, sb) {
		for _, text := range texts {
			if strings.Contains(text, pw) {
				t.Errorf("a password appears in the output:\n%s", text)
			}
		}
	}
}

// The README's main-job command: the basic example against a 3-server
// sandbox prints the primary's databases and every position.
func TestBasicExample(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "../examples/basic.lua")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"Databases on the primary db1:\n", "\n  mysql\n", "\n  information_schema\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	primaryPos := regexp.MustCompile(`Primary position: (mysql-bin\.\d+:\d+), GTID (\S*)\n`).FindStringSubmatch(r.stdout)
	if primaryPos == nil {
		t.Fatalf("no primary position in:\n%s", r.stdout)
	}
	// The sandbox returns once every replica has applied everything, and
	// nothing writes since: each replica's executed position is the primary's.
	for _, in := range sb.Replicas() {
		want := fmt.Sprintf("Replica %s position: %s, GTID %s (replicating from 127.0.0.1:%d)\n",
			in.Name, primaryPos[1], primaryPos[2], sb.Primary().Port)
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertNoSecrets(t, sb, r.stdout, r.stderr)
}

func TestPlaybooksAgainstRealServers(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	dir := t.TempDir()
	primary := sb.Primary()
	db1 := fmt.Sprintf("db1 (127.0.0.1:%d)", primary.Port)
	writeFile := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrongDep := writeFile("wrong.lua", fmt.Sprintf(`return {
  user = { name = %q, password = "not-the-password" },
  servers = { db1 = { host = "127.0.0.1", port = %d } },
}`, sb.User.Name, primary.Port))
	syntaxPlay := writeFile("syntax.lua", "local rep = require 'replicant'\nlocal db = rep.server('db1')\ndb:sql('SELEC 1')\n")
	luaErrPlay := writeFile("luaerr.lua", "local db = replicant.server('db1')\nlocal row = db:query_row('SELECT 1 AS one')\nlocal x = row.one + nil\n")
	fieldsPlay := writeFile("fields.lua", `local db = replicant.server("db1")
local ok, err = pcall(db.exec, db, "INSERT INTO no_such_db.t VALUES (1)")
print(ok, err.op, err.server, err.code, err.sqlstate, err.kind, err.where)
`)

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"bad password", []string{"-d", wrongDep, "-e", "replicant.server('db1'):sql('SELECT 1')"}, 1, "",
			"(command line):1: " + db1 + ": connect: Error 1045 (28000): Access denied for user"},
		{"unreachable port", []string{"-d", sb.DeploymentPath, "-e", "\nreplicant.server('127.0.0.1:1'):sql('SELECT 1')"}, 1, "",
			"(command line):2: 127.0.0.1:1: connect: dial tcp 127.0.0.1:1: connect: connection refused"},
		{"sql syntax error", []string{"-d", sb.DeploymentPath, "run", syntaxPlay}, 1, "",
			syntaxPlay + ":3: " + db1 + ": sql: Error 1064 (42000): You have an error in your SQL syntax"},
		{"lua error", []string{"-d", sb.DeploymentPath, "run", luaErrPlay}, 1, "",
			luaErrPlay + ":3: cannot perform add operation between number and nil"},
		{"error object fields", []string{"-d", sb.DeploymentPath, "run", fieldsPlay}, 0,
			"false\texec\t" + db1 + "\t1146\t42S02\tserver\t" + fieldsPlay + ":2\n", ""},
		{"unknown server name", []string{"-d", sb.DeploymentPath, "-e", "replicant.server('db9'):sql('SELECT 1')"}, 1, "",
			`(command line):1: server: no server named "db9" in `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)",
					r.code, tt.code, r.stdout, tt.stdout, r.stderr, tt.stderr)
			}
			assertNoSecrets(t, sb, r.stdout, r.stderr)
		})
	}
}

// Values keep their SQL types: exact big integers, NULL apart from the
// string "NULL", and one session per server object.
func TestRowsAndSession(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	code := `
local rep = require "replicant"
local db = rep.server("db1")
local row = db:query_row("SELECT 42 AS i, 18446744073709551615 AS big, CAST(-9007199254740993 AS SIGNED) AS neg, NULL AS n, 'NULL' AS s, 1.50 AS d, 0.5e0 AS f, ? AS p", "it's")
for _, k in ipairs({"i", "big", "neg", "n", "s", "d", "f", "p"}) do
  print(k, type(row[k]), tostring(row[k]))
end
print(row.n == rep.null, row.s == rep.null)
db:exec("SET @v = 7")
print(db:query_row("SELECT @v AS v").v, rep.server("db1"):query_row("SELECT @v AS v").v)
local rows, cols = db:sql("SELECT 1 AS b, 2 AS a")
print(#rows, cols[1], cols[2])
print(db:query_row("SELECT 1 FROM DUAL WHERE 1 = 0"))
print(db:flavor(), db:version():match("^%d+%.%d+%.%d+$") ~= nil, db:variable("server_id"))
`
	r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", code)
	want := `i	number	42
big	string	18446744073709551615
neg	string	-9007199254740993
n	userdata	null
s	string	NULL
d	string	1.50
f	number	0.5
p	string	it's
true	false
7	7
1	b	a
nil
mariadb	true	1
`
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, stderr %s\ngot:\n%s\nwant:\n%s", r.code, r.stderr, r.stdout, want)
	}
}

// runningQueries lists statements matching text on a server, other than
// the one asking.
func runningQueries(t *testing.T, sv *server.Server, text string) int {
	res, err := sv.Query(context.Background(),
		"SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()", "%"+text+"%")
	if err != nil {
		t.Fatal(err)
	}
	return int(res.Rows[0][0].(int64))
}

// waitFor polls cond for up to 10 s: a bound on waiting for the server,
// not a timing assertion.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("gave up waiting for %s", what)
}

// --timeout ends a run in the middle of a statement, and the statement is
// killed on the server, not left running.
func TestTimeoutKillsRunningQuery(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	sv := connect(t, sb, sb.Primary())
	r := run(t, "", nil, "-d", sb.DeploymentPath, "--timeout", "1s", "-e",
		"replicant.server('db1'):sql('SELECT SLEEP(60) AS timeout_probe')")
	if r.code != 1 || !strings.Contains(r.stderr, "(command line):1: db1") || !strings.Contains(r.stderr, "--timeout 1s reached") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	waitFor(t, "the killed query to go", func() bool { return runningQueries(t, sv, "timeout_probe") == 0 })
}

// SIGINT cancels the run the same way.
func TestInterruptKillsRunningQuery(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	sv := connect(t, sb, sb.Primary())
	cmd := exec.Command(binary(t), "-d", sb.DeploymentPath, "-e",
		"replicant.server('db1'):sql('SELECT SLEEP(60) AS sigint_probe')")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	waitFor(t, "the query to start", func() bool { return runningQueries(t, sv, "sigint_probe") == 1 })
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit: %v", err)
	}
	if !strings.Contains(stderr.String(), "interrupted by interrupt") {
		t.Errorf("stderr %q", stderr.String())
	}
	waitFor(t, "the interrupted query to go", func() bool { return runningQueries(t, sv, "sigint_probe") == 0 })
}

// The bundled ping procedure reaches every server of a deployment.
func TestStdlibPing(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "ping")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	replicaOf := fmt.Sprintf("read-only  replica of 127.0.0.1:%d (io Yes, sql Yes)", sb.Primary().Port)
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "writable   not a replica") ||
		!strings.HasSuffix(lines[1], replicaOf) || !strings.HasSuffix(lines[2], replicaOf) {
		t.Errorf("ping output:\n%s", r.stdout)
	}
}

// A wait whose applier is stopped midway raises at once instead of
// waiting out its timeout: MASTER_GTID_WAIT alone would keep waiting.
func TestWaitRaisesWhenApplierStops(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	replica := sb.Replicas()[0]
	sv := connect(t, sb, replica)
	cmd := exec.Command(binary(t), "-d", sb.DeploymentPath, "-e", `
local db2 = replicant.server("db2")
local future = db2:gtid_executed():union("0-1-999999")
print(db2:wait_for(future, { timeout = "60s" }))`)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	waitFor(t, "the wait to start", func() bool { return runningQueries(t, sv, "MASTER_GTID_WAIT") == 1 })
	if _, err := sv.Exec(context.Background(), "STOP SLAVE SQL_THREAD"); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, stdout %q", err, stdout.String())
	}
	want := "(command line):4: db2 (" + replica.Addr() + "): wait_for: replica SQL thread is not running"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	waitFor(t, "the wait to be killed", func() bool { return runningQueries(t, sv, "MASTER_GTID_WAIT") == 0 })
}

// The other examples run against a sandbox as their headers say.
func TestExamples(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	db1 := fmt.Sprintf("127.0.0.1:%d", sb.Primary().Port)
	db2 := fmt.Sprintf("127.0.0.1:%d", sb.Replicas()[0].Port)
	tests := []struct {
		file string
		want []string
	}{
		{"seed_commands.lua", []string{"primary db1 is at mysql-bin.000001:",
			"db2 stopped at mysql-bin.000001:", "db2 replicates again from " + db1}},
		{"relocate.lua", []string{"db3 now replicates from " + db2, "db3 has applied 0-1-",
			"db3 now replicates from " + db1}},
	}
	if r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", "replicant.server('db1'):exec('CREATE DATABASE examples')"); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	for _, tt := range tests {
		r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "../examples/"+tt.file)
		if r.code != 0 {
			t.Errorf("%s: exit %d: %s", tt.file, r.code, r.stderr)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.file, w, r.stdout)
			}
		}
	}
}
