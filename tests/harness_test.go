package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/harness"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// The deployment that harness.Injector.Proxy writes is one the tool
// reads as meant: a switchover through the tool proxies points the
// replicas at the new primary's replication proxy, and a cut of the
// tool's path to a server shows in the tool, not in replication.
func TestHarnessProxiedSwitchover(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	f := harness.New(sb)
	t.Cleanup(f.Close)
	if err := f.Proxy(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := run(t, "", nil, "-d", sb.DeploymentPath, "--timeout", "1m", "run", "switchover", "--", "--to", "db2")
	if r.code != 0 {
		t.Fatalf("switchover: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	_, repl := f.Proxies("db2")
	status := `
local out = {}
for _, name in ipairs({ "db1", "db3" }) do
  local st = rep.server(name):replica_status()
  table.insert(out, name .. "=" .. st.source_port .. ":" .. tostring(st.io_running))
end
return table.concat(out, " ")`
	out := run(t, "", nil, "-d", sb.DeploymentPath, "-e", status)
	want := fmt.Sprintf("db1=%d:true db3=%d:true", repl.Port(), repl.Port())
	if got := strings.Trim(strings.TrimSpace(out.stdout), `"`); out.code != 0 || got != want {
		t.Errorf("after the switchover: %q (%s), want %q", got, out.stderr, want)
	}
	if err := f.Cut("db2", harness.FromTool); err != nil {
		t.Fatal(err)
	}
	out = run(t, "", nil, "-d", sb.DeploymentPath, "--timeout", "2s", "-e", `return rep.server("db2"):variable("server_id")`)
	if out.code == 0 || !strings.Contains(out.stderr, "db2") {
		t.Errorf("the tool through a cut path to db2: %+v", out)
	}
	t.Logf("through the cut: %s", strings.TrimSpace(out.stderr))
	if err := f.Undo(context.Background()); err != nil {
		t.Fatal(err)
	}
	out = run(t, "", nil, "-d", sb.DeploymentPath, "-e", status)
	if got := strings.Trim(strings.TrimSpace(out.stdout), `"`); out.code != 0 || got != want {
		t.Errorf("after the heal: %q (%s), want %q", got, out.stderr, want)
	}
}
