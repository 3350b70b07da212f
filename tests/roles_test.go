package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// machineDeployment writes a deployment for a sandbox whose servers have
// machines (their option files) and the roles given, by name.
func machineDeployment(t *testing.T, sb *sandbox.Sandbox, roles map[string]string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "return {\n  user = { name = %q, password = file %q },\n  repl_user = { name = %q, password = file %q },\n  servers = {\n",
		sb.User.Name, sb.User.PasswordFile, sb.ReplUser.Name, sb.ReplUser.PasswordFile)
	for _, in := range sb.Instances {
		role := ""
		if r, ok := roles[in.Name]; ok {
			role = ", role = " + r
		}
		fmt.Fprintf(&b, "    %s = { host = \"127.0.0.1\", port = %d, server_id = %d, machine = { defaults_file = %q }%s },\n",
			in.Name, in.Port, in.ServerID, in.DefaultsFile, role)
	}
	b.WriteString("  },\n}\n")
	p := filepath.Join(t.TempDir(), "deployment.lua")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRolesAndMachines(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	dep := machineDeployment(t, sb, map[string]string{
		"db1": `"master"`, "db2": `{ kind = "final", master = "db1" }`, "db3": `{ kind = "final", master = "db1" }`,
	})
	lua := func(code string) result {
		t.Helper()
		return run(t, "", nil, "-d", dep, "--timeout", "2m", "-e", code)
	}
	must := func(what string, r result) {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", what, r.code, r.stdout, r.stderr)
		}
	}

	// Stop and start a server through its machine.
	r := lua(`local db3 = replicant.server("db3")
db3:stop()
print(replicant.try(db3.variable, db3, "server_id"))
db3:start()
print(db3:variable("server_id"))`)
	must("stop/start", r)
	if !strings.HasPrefix(r.stdout, "false\t") || !strings.HasSuffix(r.stdout, "\n3\n") {
		t.Errorf("stop/start output: %q", r.stdout)
	}

	// examples/simple.lua imbues the deployment: master twice is idempotent.
	for i := 0; i < 2; i++ {
		r = run(t, "", nil, "-d", dep, "run", "../examples/simple.lua")
		must("simple.lua", r)
	}
	if !strings.Contains(r.stdout, "db1: role master\n") || strings.Contains(r.stdout, "db1: role master (restarted)") {
		t.Errorf("second imbue restarted db1 or did not run:\n%s", r.stdout)
	}

	// final: no binary log; data still replicates.
	r = lua(`local db1, db3 = replicant.server("db1"), replicant.server("db3")
print(db3:variable("log_bin"))
db1:exec("CREATE DATABASE roles")
db1:exec("CREATE TABLE roles.t (id INT PRIMARY KEY)")
db1:exec("INSERT INTO roles.t VALUES (1), (2)")
assert(db3:wait_for(db1:gtid_executed(), { timeout = "20s" }))
print(db3:query_row("SELECT COUNT(*) AS n FROM roles.t").n)`)
	must("final", r)
	if r.stdout != "0\n2\n" {
		t.Errorf("final: %q", r.stdout)
	}

	// relay between db1 and db3: data flows through, stored nowhere on db2.
	r = lua(`local db1, db2, db3 = replicant.server("db1"), replicant.server("db2"), replicant.server("db3")
db2:imbue(replicant.roles.relay { master = "db1", server_id = 2 })
db3:imbue(replicant.roles.final { master = "db2" })
db1:exec("CREATE TABLE roles.relayed (id INT PRIMARY KEY)")
db1:exec("INSERT INTO roles.relayed VALUES (1), (2), (3)")
assert(db3:wait_for(db1:gtid_executed(), { timeout = "20s" }), "db3 did not get the writes through db2")
local st = db3:replica_status()
print(replicant.server(st.source_host .. ":" .. st.source_port):name())
print(db3:query_row("SELECT COUNT(*) AS n FROM roles.relayed").n, db2:query_row("SELECT COUNT(*) AS n FROM roles.relayed").n)
print(db2:query_row("SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'roles' AND TABLE_NAME = 't'").ENGINE)
print(db2:query_row("SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'roles' AND TABLE_NAME = 'relayed'").ENGINE)`)
	must("relay", r)
	if r.stdout != "db2\n3\t0\nBLACKHOLE\nBLACKHOLE\n" {
		t.Errorf("relay: %q", r.stdout)
	}

	// A role whose restart fails puts the previous option file back.
	before, err := os.ReadFile(sb.Instances[2].DefaultsFile)
	if err != nil {
		t.Fatal(err)
	}
	r = lua(`local db3 = replicant.server("db3")
local ok, err = pcall(db3.imbue, db3, replicant.roles.master { options = { no_such_option_here = "1" } })
print(ok, err.op, err.kind)
io.stderr:write(tostring(err), "\n")
print(db3:variable("server_id"))`)
	must("failed restart", r)
	after, _ := os.ReadFile(sb.Instances[2].DefaultsFile)
	if string(after) != string(before) {
		t.Errorf("option file not restored:\n%s", after)
	}
	if r.stdout != "false\timbue\tusage\n3\n" || !strings.Contains(r.stderr, "no_such_option_here") ||
		!strings.Contains(r.stderr, "previous option file restored") {
		t.Errorf("failed restart: stdout %q stderr %q", r.stdout, r.stderr)
	}

	// config(): edit and save keeps the rest of the file.
	r = lua(`local cfg = replicant.server("db3"):config()
cfg:set("max_connections", 77)
cfg:save()
print(replicant.server("db3"):config():get("max_connections"), cfg:get("no-such"))`)
	must("config", r)
	after, _ = os.ReadFile(sb.Instances[2].DefaultsFile)
	if r.stdout != "77\tnil\n" || !strings.HasPrefix(string(after), string(before[:strings.Index(string(before), "\n")])) {
		t.Errorf("config: %q\n%s", r.stdout, after)
	}
}

// rolling_restart restarts every server through its machine, replicas
// first, then the primary after a switchover; with --back the primary role
// returns. No acknowledged write is lost meanwhile.
func TestRollingRestart(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	dep := machineDeployment(t, sb, nil)
	pids := map[string]int{}
	for _, in := range sb.Instances {
		pids[in.Name] = in.Pid
	}
	w := startWriter(t, sb)
	w.waitAcked(t, 20)
	r := run(t, "", nil, "-d", dep, "--timeout", "3m", "run", "rolling_restart", "--", "--back")
	if r.code == 0 {
		w.waitAcked(t, 20) // on db1, primary again
	}
	res := w.finish(t, 0)
	if r.code != 0 || !strings.Contains(r.stdout, "rolling_restart: 3 server(s) restarted; the primary is db1") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if res.lost != 0 || res.dupes != 0 {
		t.Errorf("writer: %+v", res)
	}
	// A line per server as it goes down, comes back and catches up.
	for _, name := range []string{"db2", "db3", "db1"} {
		re := regexp.MustCompile(`(?s)rolling_restart: restarting ` + name + `\n.*rolling_restart: ` + name +
			` back in [0-9.]+ ms\n.*rolling_restart: ` + name + ` caught up with db[0-9] in [0-9.]+ ms\n`)
		if !re.MatchString(r.stdout) {
			t.Errorf("no restart lines for %s:\n%s", name, r.stdout)
		}
	}
	check := run(t, "", nil, "-d", dep, "-e", `require("replicant.test").topology_is("db1", {"db2", "db3"})
for _, n in ipairs{"db1", "db2", "db3"} do print(n, replicant.server(n):query_row("SELECT @@pid_file AS f").f) end`)
	if check.code != 0 {
		t.Errorf("topology after: %s", check.stderr)
	}
	for name, old := range pids {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(sb.Instances[0].DefaultsFile), "..", name, "mysqld.pid"))
		if err == nil && strings.TrimSpace(string(b)) == fmt.Sprint(old) {
			t.Errorf("%s still runs as pid %d: not restarted", name, old)
		}
	}
}
