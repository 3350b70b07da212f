package tests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// `sandbox up --tls` from the command line: a playbook run with the
// deployment it wrote talks TLS to the server, a deployment that trusts
// another CA is refused with the server and the CA named, and status and
// down work from the directory.
func TestSandboxUpTLS(t *testing.T) {
	if _, err := sandbox.FindBinary(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := filepath.Join(t.TempDir(), "sb")
	// The servers are detached from the command that started them: stop
	// them by their pid files whatever happens to the test.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sandbox.Down(ctx, dir); err != nil && !errors.Is(err, sandbox.ErrNoSandbox) {
			t.Errorf("sandbox down %s: %v", dir, err)
		}
	})
	if r := run(t, "", nil, "sandbox", "up", "--tls", "--servers", "1", "--dir", dir); r.code != 0 {
		t.Fatalf("sandbox up --tls: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sb, err := sandbox.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if sb.TLS == nil {
		t.Fatalf("sandbox.json records no TLS files")
	}

	play := `local db = replicant.server("db1")
for _, name in ipairs({"Ssl_version", "Ssl_cipher"}) do
  print(name .. "=" .. db:query_row("SHOW SESSION STATUS LIKE '" .. name .. "'").Value)
end`
	r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", play)
	if r.code != 0 || !regexp.MustCompile(`(?m)^Ssl_version=TLSv1\.[23]\nSsl_cipher=\S+$`).MatchString(r.stdout) {
		t.Errorf("exit %d; want the TLS version and cipher of the session\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	assertNoSecrets(t, sb, r.stdout, r.stderr)

	other, err := sandbox.GenerateTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dep, err := os.ReadFile(sb.DeploymentPath)
	if err != nil {
		t.Fatal(err)
	}
	wrongCA := filepath.Join(t.TempDir(), "deployment.lua")
	if err := os.WriteFile(wrongCA, []byte(strings.Replace(string(dep), sb.TLS.CA, other.CA, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", nil, "-d", wrongCA, "-e", play)
	want := fmt.Sprintf("db1 (127.0.0.1:%d): connect: TLS: the server's certificate is not accepted (ca %s, name 127.0.0.1)",
		sb.Primary().Port, other.CA)
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("deployment trusting another CA: exit %d, stderr:\n%s\nwant exit 1 and %q", r.code, r.stderr, want)
	}

	if r := run(t, "", nil, "sandbox", "status", "--dir", dir); r.code != 0 || !strings.Contains(r.stdout, "running  yes") {
		t.Errorf("sandbox status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", nil, "sandbox", "down", "--dir", dir, "--remove"); r.code != 0 {
		t.Errorf("sandbox down --remove: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// change_source's ssl options reach the replica: verification of the
// source's certificate is turned off and on again from Lua, and the
// replica still applies what the primary writes.
func TestChangeSourceTLSOptions(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2, TLS: true})
	r := run(t, "", []string{"CA=" + sb.TLS.CA}, "-d", sb.DeploymentPath, "-e", `
local db1, db2 = replicant.server("db1"), replicant.server("db2")
for i, verify in ipairs { false, true } do
  db2:stop_replica()
  db2:change_source(db1, { ssl = true, ssl_ca = os.getenv("CA"), ssl_verify_server_cert = verify })
  db2:start_replica()
  db1:exec("CREATE DATABASE tls_step_" .. i)
  assert(db2:wait_for(db1:gtid_executed(), { timeout = "30s" }), "db2 did not catch up")
  local st = db2:sql("SHOW SLAVE STATUS")[1]
  print(st.Master_SSL_Allowed, st.Master_SSL_Verify_Server_Cert, st.Slave_IO_Running)
end`)
	if r.code != 0 || r.stdout != "Yes\tNo\tYes\nYes\tYes\tYes\n" {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// With repl_tls in the deployment (sandbox --tls writes it), a switchover
// leaves every replica on verified TLS, the demoted primary included: it
// had no replication settings to keep, so without repl_tls it would
// replicate in clear text.
func TestSwitchoverKeepsReplicationTLS(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3, TLS: true})
	if r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db2"); r.code != 0 {
		t.Fatalf("switchover: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `
for _, n in ipairs { "db1", "db3" } do
  local st = replicant.server(n):sql("SHOW SLAVE STATUS")[1]
  print(n, st.Master_SSL_Allowed, st.Master_SSL_CA_File ~= "", st.Master_SSL_Verify_Server_Cert, st.Slave_IO_Running)
end`)
	if r.code != 0 || r.stdout != "db1\tYes\ttrue\tYes\tYes\ndb3\tYes\ttrue\tYes\tYes\n" {
		t.Errorf("after the switchover: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// run check flags a replica that replicates without verified TLS when the
// deployment has repl_tls; pointing it again with change_source (which
// applies repl_tls) clears it.
func TestCheckFlagsReplicationWithoutTLS(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3, TLS: true})
	repoint := func(opts string) {
		t.Helper()
		r := run(t, "", nil, "-d", sb.DeploymentPath, "-e", `
local db1, db3 = replicant.server("db1"), replicant.server("db3")
db3:stop_replica()
db3:change_source(db1, `+opts+`)
db3:start_replica()
assert(db3:wait_for(db1:gtid_executed(), { timeout = "30s" }))
local st = db3:replica_status()
print(st.ssl_allowed, st.ssl_verify_server_cert)`)
		if r.code != 0 {
			t.Fatalf("repoint %s: exit %d: %s", opts, r.code, r.stderr)
		}
	}
	repoint(`{ ssl = false, ssl_verify_server_cert = false }`)
	r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "check")
	if r.code != 1 || !strings.Contains(r.stdout, "error   db3    replication_not_tls") || strings.Contains(r.stdout, "db2    replication_not_tls") {
		t.Errorf("check with db3 in clear text: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	repoint(`{}`)
	if r := run(t, "", nil, "-d", sb.DeploymentPath, "run", "check"); r.code != 0 {
		t.Errorf("check after repointing db3 with repl_tls: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
