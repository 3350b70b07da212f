package bindings

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/machine/sshdtest"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

const sshBackupScript = backupSetup + `
local p = rep.backup{ server = DB2, to = DIR .. "/physical", method = "physical" }
assert(p.method == "physical" and p.gtid == DB1:gtid_executed(), tostring(p.gtid))
DB1:exec("INSERT INTO app.t (v) SELECT seq FROM app.seq_1_to_50")

local r = rep.restore{ image = p.image, server = DB3 }
assert(r.old_datadir:find("data%.old%-"), r.old_datadir)
assert(DB3:query_row("SELECT COUNT(*) AS n FROM app.t").n == 300)
DB3:change_source(DB1, { user = REPL_USER, password = REPL_PW })
DB3:start_replica()
assert(DB3:wait_for(DB1:gtid_executed(), { timeout = "30s" }))
assert(DB3:query_row("SELECT COUNT(*) AS n FROM app.t").n == 350)
print("ssh backup script done")
`

// TestBackupThroughSSHMachine: servers whose deployment entries have ssh
// machines are backed up and restored through them (the servers run
// here, on the far side of a loopback sshd; the ssh path is taken because
// the machine says ssh).
func TestBackupThroughSSHMachine(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	d := sshdtest.Start(t)
	dep := &deploy.Deployment{Servers: map[string]deploy.Server{}}
	for _, name := range []string{"db2", "db3"} {
		in, _ := sb.Instance(name)
		dep.Servers[name] = deploy.Server{Name: name, Machine: &machine.Spec{
			SSH: d.Destination(), Port: d.Port, Identity: d.ClientKey, SSHConfig: "/dev/null", SSHOptions: d.Options(),
			DefaultsFile: in.DefaultsFile, Binary: in.Binary, ConsoleLog: filepath.Join(filepath.Dir(in.DefaultsFile), "console.log"),
		}}
	}
	// The server the restore starts through ssh is stopped by the
	// sandbox's cleanup, by the pid in its pid file.
	s, out := backupState(t, sb, Config{Verbose: true, Deployment: dep})
	if err := s.L.DoString(sshBackupScript); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, out)
	}
	for _, want := range []string{"ssh backup script done", "db2 (127.0.0.1:", "): physical backup through ssh -p ",
		"): physical restore through ssh -p "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
