package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// A server that cannot start makes Up fail with its error log, and the
// servers that did start are stopped: no half-up sandbox.
func TestUpFailureStopsEverything(t *testing.T) {
	t.Parallel()
	real, err := sandbox.FindBinary("")
	if err != nil {
		t.Skip(err) // TestNoBinary covers this machine
	}
	tpl := sandboxtest.Template(t, real)
	// db2 gets an option mariadbd does not know; --version and the
	// bootstrap pass through untouched.
	wrapper := filepath.Join(t.TempDir(), "mariadbd")
	script := "#!/bin/sh\ncase \"$*\" in *db2/my.cnf*) exec " + real + " \"$@\" --no-such-option ;; esac\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Cleanup(func() { sandbox.Down(context.Background(), dir) })

	start := time.Now()
	_, err = sandbox.Up(context.Background(), sandbox.Options{Dir: dir, Binary: wrapper, Template: tpl})
	if err == nil || !strings.Contains(err.Error(), "db2") || !strings.Contains(err.Error(), "no-such-option") {
		t.Fatalf("Up: %v; want db2's failure quoting its error log", err)
	}
	t.Logf("failed in %s: %v", time.Since(start), err)
	s, lerr := sandbox.Load(dir)
	if lerr != nil {
		t.Fatal(lerr)
	}
	for _, in := range s.Instances {
		if in.Pid != 0 && alive(in.Pid) {
			t.Errorf("%s: pid %d still running after a failed Up", in.Name, in.Pid)
		}
	}
	// The directory is kept for its logs, is recognised, and is removable.
	if _, err := sandbox.Up(context.Background(), sandbox.Options{Dir: dir, Binary: wrapper}); err == nil ||
		!strings.Contains(err.Error(), "stopped sandbox") {
		t.Errorf("Up on a failed sandbox's dir: %v; want a 'stopped sandbox' refusal", err)
	}
	if err := sandbox.Remove(dir); err != nil {
		t.Errorf("Remove: %v", err)
	}
}
