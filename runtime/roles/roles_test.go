package roles_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/roles"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func TestMain(m *testing.M) { sandboxtest.Main(m) }

// finalEdits is the final role's option-file part without its SQL part,
// which needs a source: the edits are what this test is about.
type finalEdits struct{}

func (finalEdits) Name() string                                    { return "final (edits only)" }
func (finalEdits) Edits(t roles.Target) []roles.Edit               { return roles.Final{}.Edits(t) }
func (finalEdits) Apply(ctx context.Context, t roles.Target) error { return nil }

func intVar(t *testing.T, ctx context.Context, sv *server.Server, name string) int64 {
	t.Helper()
	row, err := sv.QueryRow(ctx, "SELECT CAST(@@GLOBAL."+name+" AS SIGNED) AS v")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if _, err := fmt.Sscan(fmt.Sprint(row["v"]), &n); err != nil {
		t.Fatalf("%s = %v: %v", name, row["v"], err)
	}
	return n
}

// TestFinalEditsEveryGroupAndInclude: the binary log is also switched on
// in [mariadb] (mixed case) and the server id comes from a file of an
// !includedir read after [mysqld]. The final role must turn binary
// logging off and give the server the id it was asked for, as the
// restarted server itself reports. The old edit touched [mysqld] only:
// log_bin stayed 1 and server_id stayed 77.
func TestFinalEditsEveryGroupAndInclude(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, m, sv := primaryOf(t, sb)

	dir := filepath.Join(filepath.Dir(in.DefaultsFile), "conf.d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	included := filepath.Join(dir, "zz-ids.cnf")
	if err := os.WriteFile(included, []byte("[mariadbd]\nserver-id = 77 # set by the image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	top, err := os.ReadFile(in.DefaultsFile)
	if err != nil {
		t.Fatal(err)
	}
	hostile := string(top) + "[MariaDB]\nLog-Bin = other-bin\n!includedir " + dir + "\n"
	if err := os.WriteFile(in.DefaultsFile, []byte(hostile), 0o644); err != nil {
		t.Fatal(err)
	}
	sv.Close()
	if err := m.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if id, logBin := intVar(t, ctx, sv, "server_id"), intVar(t, ctx, sv, "log_bin"); id != 77 || logBin != 1 {
		t.Fatalf("setup: server_id %d, log_bin %d; want the hostile file read (77, 1)", id, logBin)
	}

	res, err := roles.Imbue(ctx, roles.Target{Server: sv, Machine: m, OptionFile: in.DefaultsFile, ServerID: 42}, finalEdits{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || !res.Restarted {
		t.Errorf("result %+v, want changed and restarted", res)
	}
	if id, logBin, ro := intVar(t, ctx, sv, "server_id"), intVar(t, ctx, sv, "log_bin"), intVar(t, ctx, sv, "read_only"); id != 42 || logBin != 0 || ro != 1 {
		t.Errorf("after imbue: server_id %d, log_bin %d, read_only %d; want 42, 0, 1", id, logBin, ro)
	}
	if data, _ := os.ReadFile(included); string(data) != "[mariadbd]\nserver-id = 42 # set by the image\n" {
		t.Errorf("included file: %q", data)
	}
	if data, _ := os.ReadFile(in.DefaultsFile); strings.Contains(strings.ToLower(string(data)), "log-bin") {
		t.Errorf("option file still has log-bin:\n%s", data)
	}

	// A second imbue finds nothing to do.
	res, err = roles.Imbue(ctx, roles.Target{Server: sv, Machine: m, OptionFile: in.DefaultsFile, ServerID: 42}, finalEdits{})
	if err != nil || res.Changed {
		t.Errorf("second imbue: %+v, %v", res, err)
	}
}

// TestImbueRefusesMissingIncludedir: the server would not start on this
// file, so the role refuses it before writing or restarting anything.
func TestImbueRefusesMissingIncludedir(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in, m, sv := primaryOf(t, sb)
	top, err := os.ReadFile(in.DefaultsFile)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nonexistent.d")
	bad := string(top) + "!includedir " + missing + "\n"
	if err := os.WriteFile(in.DefaultsFile, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	// Put the file back before the sandbox is stopped: stopping reads it.
	t.Cleanup(func() { os.WriteFile(in.DefaultsFile, top, 0o644) })
	_, err = roles.Imbue(ctx, roles.Target{Server: sv, Machine: m, OptionFile: in.DefaultsFile, ServerID: 9}, finalEdits{})
	if err == nil || !strings.Contains(err.Error(), "!includedir "+missing) {
		t.Fatalf("err = %v, want the missing includedir named", err)
	}
	if data, _ := os.ReadFile(in.DefaultsFile); string(data) != bad {
		t.Errorf("option file changed:\n%s", data)
	}
	if id := intVar(t, ctx, sv, "server_id"); id == 9 {
		t.Errorf("server_id %d: the server was restarted with the edit", id)
	}
}

// primaryOf is the sandbox's primary, its machine and a server object
// logged in as the tool, closed when the test ends.
func primaryOf(t *testing.T, sb *sandbox.Sandbox) (sandbox.Instance, machine.Machine, *server.Server) {
	t.Helper()
	in := sb.Primary()
	m, err := sb.Machine(in.Name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := sb.ServerConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Close() })
	return in, m, sv
}
