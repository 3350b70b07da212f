package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// TestLuaPlaybooks runs every playbook in tests/lua (but the check
// library) against a fresh 3-server sandbox through the real binary. A
// playbook passes when it exits 0 and prints "<name> ok" last; its checks
// raise with a message otherwise.
func TestLuaPlaybooks(t *testing.T) {
	files, err := filepath.Glob("lua/*.lua")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".lua")
		if name == "check" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
			appPW, err := sb.AppUser.Password()
			if err != nil {
				t.Fatal(err)
			}
			abs, _ := filepath.Abs(f)
			r := run(t, "", []string{"APP_PASSWORD=" + appPW}, "-d", sb.DeploymentPath, "--timeout", "5m", "run", abs)
			want := strings.ReplaceAll(name, "_", " ")
			if idx := strings.Index(want, " "); idx > 0 {
				want = want[:idx]
			}
			if r.code != 0 || !strings.HasSuffix(r.stdout, want+" ok\n") {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			assertNoSecrets(t, sb, r.stdout, r.stderr)
		})
	}
	_ = os.Getenv
}
