package bindings

import (
	"context"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// A registry outlives the states that use it, as watch needs: the second
// run gets the first run's server object and session, each run's audit
// and dry run see only that run's statements, and a dry run's mode ends
// with it.
func TestRegistryOutlivesRuns(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	t.Cleanup(reg.Close)
	run := func(cfg Config, code string) (string, error) {
		t.Helper()
		var out strings.Builder
		cfg.Stdout, cfg.Stderr = &out, &out
		s := NewWithRegistry(context.Background(), cfg, reg)
		defer s.Close()
		bindSandboxServers(t, s, sb, pw)
		err := s.RunString(code, "run.lua")
		return out.String(), err
	}

	var audit1, audit2 strings.Builder
	if out, err := run(Config{Audit: &audit1}, `DB1:exec("SET @mark = 42")`); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := len(reg.Servers()); n != 1 {
		t.Fatalf("registry holds %d servers after the first run, want 1", n)
	}
	first := reg.Servers()[0]

	out, err := run(Config{Audit: &audit2}, `print(DB1:query_row("SELECT @mark AS m").m)`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.TrimSpace(out) != "42" {
		t.Errorf("the second run sees @mark = %q: not the first run's session", strings.TrimSpace(out))
	}
	if reg.Servers()[0] != first || len(reg.Servers()) != 1 {
		t.Errorf("the second run made a new server object")
	}
	if strings.Contains(audit1.String(), "@mark AS m") {
		t.Errorf("the first run's audit got the second run's statement:\n%s", audit1.String())
	}
	if !strings.Contains(audit2.String(), "@mark AS m") {
		t.Errorf("the second run's audit lacks its statement:\n%s", audit2.String())
	}

	if out, err := run(Config{DryRun: true}, `DB1:exec("CREATE DATABASE dry")`); err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, err = run(Config{}, `
assert(DB1:query_row("SELECT COUNT(*) AS n FROM information_schema.schemata WHERE schema_name = 'dry'").n == 0,
  "the dry run created the database")
DB1:exec("CREATE DATABASE wet")
print(DB1:query_row("SELECT COUNT(*) AS n FROM information_schema.schemata WHERE schema_name = 'wet'").n)`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.TrimSpace(out) != "1" {
		t.Errorf("after a dry run, the next run's change did not happen: %q", out)
	}
}
