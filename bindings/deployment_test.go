package bindings

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDeployment(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "repl.pw", "s3cr'et\n")
	t.Setenv("TEST_REPLICANT_PW", "hunter2")
	p := writeFile(t, dir, "dep.lua", `
return {
  user      = { name = "replicant", password = env "TEST_REPLICANT_PW" },
  repl_user = { name = "repl", password = file "repl.pw" },
  connect_timeout = "2s",
  servers = {
    db1 = { host = "10.0.0.1", port = 3306 },
    db2 = { host = "10.0.0.2", promotion = "prefer", tls = "required" },
    db3 = { socket = "/run/mysqld/db3.sock", promotion = "must_not",
            user = { name = "other", password = "pw" } },
  },
}`)
	d, err := LoadDeployment(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Names(), ","); got != "db1,db2,db3" {
		t.Errorf("names = %s", got)
	}
	if d.User.Password.Reveal() != "hunter2" || d.ReplUser.Password.Reveal() != "s3cr'et" {
		t.Errorf("passwords not read: user %q repl %q", d.User.Password.Reveal(), d.ReplUser.Password.Reveal())
	}
	db2, err := d.ServerConfig("db2")
	if err != nil {
		t.Fatal(err)
	}
	if db2.Port != 3306 || db2.TLS.Mode != "required" || db2.User != "replicant" || db2.ConnectTimeout.Seconds() != 2 {
		t.Errorf("db2 config = %+v", db2)
	}
	db3, _ := d.ServerConfig("db3")
	if db3.Socket != "/run/mysqld/db3.sock" || db3.User != "other" || db3.Password.Reveal() != "pw" {
		t.Errorf("db3 config = %+v", db3)
	}
	if d.Servers["db3"].Promotion != "must_not" {
		t.Errorf("promotion = %q", d.Servers["db3"].Promotion)
	}
}

func TestLoadDeploymentErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, src, want string
	}{
		{"unknown key", `return { user = {name="u"}, servers = { db1 = { host = "h", prot = 1 } } }`,
			"server db1: unknown option prot"},
		{"wrong type", `return { user = {name="u"}, servers = { db1 = { host = "h", port = "x" } } }`,
			"server db1: option port: want integer, got string"},
		{"bad promotion", `return { user = {name="u"}, servers = { db1 = { host = "h", promotion = "yes" } } }`,
			`promotion "yes"`},
		{"no servers", `return { user = {name="u"}, servers = {} }`, "no servers"},
		{"not a table", `return 42`, "must return a table, returned number"},
		{"unset env", "return {\n user = { name = 'u', password = env 'TEST_REPLICANT_UNSET_VAR' } }",
			`dep.lua:2: env "TEST_REPLICANT_UNSET_VAR": the variable is not set`},
		{"missing file", `return { user = { name = 'u', password = file 'nope.pw' } }`, "nope.pw"},
		{"syntax", "return {\n user = ", "dep.lua"},
		{"no user", `return { servers = { db1 = { host = "h" } } }`, "server db1: no user"},
		{"replication typo", "return { user = {name='u'}, servers = {\n db1 = { host = 'h', replication_hots = 'r' } } }",
			`dep.lua:2: server db1: unknown option replication_hots (did you mean replication_host?)`},
		{"shared replication address", `return { user = {name="u"}, servers = { db1 = { host = "a", replication_host = "r" },
			db2 = { host = "b", replication_host = "r" } } }`, "servers db1 and db2: replicas would reach both at r:3306"},
		{"replication port range", `return { user = {name="u"}, servers = { db1 = { host = "h", replication_port = 70000 } } }`,
			"server db1: replication_port 70000 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, "dep.lua", tt.src)
			_, err := LoadDeployment(context.Background(), p, nil)
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name %q and the file", err, tt.want)
			}
		})
	}
}

// A deployment that prints its own secrets shows only stars, and the
// loaded values never print.
func TestDeploymentSecretsNeverPrint(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TEST_REPLICANT_PW", "hunter2")
	p := writeFile(t, dir, "dep.lua", `
local pw = env "TEST_REPLICANT_PW"
assert(tostring(pw) == "******", "secret printed as " .. tostring(pw))
return { user = { name = "u", password = pw }, servers = { db1 = { host = "h" } } }`)
	d, err := LoadDeployment(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := d.ServerConfig("db1")
	for _, s := range []string{d.User.Password.String(), cfg.Password.GoString()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret leaked: %s", s)
		}
	}
}

func TestDeploymentMachinesAndRoles(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "dep.lua", `
return {
  user = { name = "u", password = "p" },
  servers = {
    db1 = { host = "10.0.0.1", role = "master", server_id = 1,
            machine = { ssh = "ops@10.0.0.1", service = "mariadb", connect_timeout = "5s" } },
    db2 = { host = "10.0.0.2", role = { kind = "final", master = "db1" },
            machine = { defaults_file = "/srv/db2/my.cnf" } },
  },
}`)
	d, err := LoadDeployment(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	db1, db2 := d.Servers["db1"], d.Servers["db2"]
	if db1.Machine == nil || db1.Machine.SSH != "ops@10.0.0.1" || db1.Machine.Service != "mariadb" || db1.Role != "master" || db1.ServerID != 1 {
		t.Errorf("db1 = %+v, machine %+v", db1, db1.Machine)
	}
	if db2.Machine == nil || db2.OptionFile != "/srv/db2/my.cnf" || db2.Role != "final" || db2.RoleSource != "db1" {
		t.Errorf("db2 = %+v", db2)
	}
	for src, want := range map[string]string{
		`machine = { sevice = "x" }`:           `server db1: machine: unknown key "sevice"`,
		`role = "primary"`:                     `server db1: role "primary": want master, final, relay or vagabond`,
		`role = { kind = "final" }`:            `server db1: role final needs its master`,
		`role = { kind = "relay", src = "x" }`: `server db1: role: unknown option src`,
	} {
		p := writeFile(t, dir, "bad.lua", `return { user = { name = "u" }, servers = { db1 = { host = "h", `+src+` } } }`)
		if _, err := LoadDeployment(context.Background(), p, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", src, err, want)
		}
	}
}

// prompt asks once per question, and without a terminal it is an error
// that says what to use instead.
func TestDeploymentPrompt(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "dep.lua", `
local pw = prompt "password for replicant"
return {
  user      = { name = "replicant", password = pw },
  repl_user = { name = "repl", password = prompt "password for repl" },
  servers = { db1 = { host = "10.0.0.1", user = { name = "replicant", password = prompt "password for replicant" } } },
}`)
	var asked []string
	d, err := LoadDeployment(context.Background(), p, func(q string) (string, error) {
		asked = append(asked, q)
		return "typed:" + q, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, "|") != "password for replicant|password for repl" {
		t.Errorf("asked %q; want each question once", asked)
	}
	if d.User.Password.Reveal() != "typed:password for replicant" || d.ReplUser.Password.Reveal() != "typed:password for repl" {
		t.Errorf("passwords %q, %q", d.User.Password.Reveal(), d.ReplUser.Password.Reveal())
	}
	_, err = LoadDeployment(context.Background(), p, nil)
	if err == nil || !strings.Contains(err.Error(), `dep.lua:2: prompt "password for replicant": no terminal to ask on (give this secret with env or file)`) {
		t.Errorf("without a terminal: %v", err)
	}
	_, err = LoadDeployment(context.Background(), p, func(string) (string, error) { return "", errors.New("EOF") })
	if err == nil || !strings.Contains(err.Error(), `prompt "password for replicant": EOF`) {
		t.Errorf("a failed read: %v", err)
	}
}

func TestDeploymentReplTLS(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ lua, want string }{
		{`{ ca = "/etc/mysql/ca.pem" }`, ""},
		{`{ ca = "ca.pem" }`, `repl_tls: ca "ca.pem" must be an absolute path: each replica server reads it on its own host`},
		{`{}`, `repl_tls: ca is required`},
		{`{ ca = "/x", verify = false }`, `verify`},
	} {
		p := writeFile(t, dir, "dep.lua", `return { user = { name = "u", password = "p" }, repl_tls = `+tc.lua+`, servers = { db1 = { host = "10.0.0.1" } } }`)
		d, err := LoadDeployment(context.Background(), p, nil)
		switch {
		case tc.want == "" && (err != nil || d.ReplCA != "/etc/mysql/ca.pem"):
			t.Errorf("repl_tls = %s: %v, ca %q", tc.lua, err, d.ReplCA)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("repl_tls = %s: %v; want an error with %q", tc.lua, err, tc.want)
		}
	}
}

// replication = { connect_retry =, heartbeat = } reaches every
// CHANGE MASTER the tool writes and the roles' Follow, unless the call
// gives its own.
func TestDeploymentReplicationSettings(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "dep.lua", `return { user = { name = "r", password = "x" }, repl_user = { name = "repl", password = "y" },
  replication = { connect_retry = 1, heartbeat = "500ms" },
  servers = { db1 = { host = "127.0.0.1", port = 1 } } }`)
	d, err := LoadDeployment(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.ReplConnectRetry != time.Second || d.ReplHeartbeat != 500*time.Millisecond {
		t.Fatalf("connect_retry %s, heartbeat %s", d.ReplConnectRetry, d.ReplHeartbeat)
	}
	st := New(context.Background(), Config{Deployment: d})
	defer st.Close()
	opts, err := st.changeSourceOptions(st.L, options{t: st.L.NewTable()})
	if err != nil || opts.ConnectRetry != time.Second || opts.Heartbeat != 500*time.Millisecond {
		t.Errorf("defaults: connect retry %s, heartbeat %s, %v", opts.ConnectRetry, opts.Heartbeat, err)
	}
	own := st.L.NewTable()
	own.RawSetString("connect_retry", lua.LNumber(5))
	own.RawSetString("heartbeat", lua.LNumber(2))
	opts, err = st.changeSourceOptions(st.L, options{t: own})
	if err != nil || opts.ConnectRetry != 5*time.Second || opts.Heartbeat != 2*time.Second {
		t.Errorf("the call's own: connect retry %s, heartbeat %s, %v", opts.ConnectRetry, opts.Heartbeat, err)
	}
	if f := st.followOptions(); f.ConnectRetry != time.Second || f.Heartbeat != 500*time.Millisecond {
		t.Errorf("roles: %+v", f)
	}
	for src, want := range map[string]string{
		`replication = { connect_retry = "1500ms" }`: "connect_retry 1.5s: want whole seconds",
		`replication = { retry = 1 }`:                "unknown option retry",
	} {
		bad := writeFile(t, dir, "bad.lua", `return { servers = { db1 = { host = "h" } }, `+src+` }`)
		if _, err := LoadDeployment(context.Background(), bad, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

// replication_host and replication_port are where replicas reach a
// server; the tool keeps host and port, and a replica's source at the
// replication address is that server.
func TestDeploymentReplicationAddress(t *testing.T) {
	p := writeFile(t, t.TempDir(), "dep.lua", `
return {
  user = { name = "u" },
  servers = {
    db1 = { host = "10.0.0.1", port = 3306, replication_host = "10.1.0.1" },
    db2 = { host = "10.0.0.2", replication_port = 3307 },
    db3 = { host = "10.0.0.3" },
  },
}`)
	d, err := LoadDeployment(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"db1": "10.1.0.1:3306", "db2": "10.0.0.2:3307", "db3": "10.0.0.3:3306"} {
		cfg, _ := d.ServerConfig(name)
		h, port := cfg.ReplicationAddress()
		if got := net.JoinHostPort(h, strconv.Itoa(port)); got != want || cfg.Address() != d.Servers[name].Host+":3306" {
			t.Errorf("%s: replication address %s, tool address %s; want %s", name, got, cfg.Address(), want)
		}
	}
	for addr, want := range map[string]string{"10.1.0.1:3306": "db1", "10.0.0.1:3306": "db1", "10.0.0.2:3307": "db2"} {
		h, port, _, _ := server.ParseAddress(addr)
		if name, ok := deploymentNameOf(d, h, port, ""); !ok || name != want {
			t.Errorf("%s is %q, want %s", addr, name, want)
		}
	}
}
