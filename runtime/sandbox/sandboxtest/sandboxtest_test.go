package sandboxtest

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// recorder catches Skip and Fatal, which end the calling goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.failed = fmt.Sprint(args...)
	runtime.Goexit()
}

func startMissing(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(r, sandbox.Options{Binary: filepath.Join(t.TempDir(), "mariadbd")})
	}()
	<-done
	return r
}

// Without a server binary a test skips, except under CI=true where it
// fails: CI must not silently skip the real-server tests.
func TestStartWithoutBinary(t *testing.T) {
	t.Setenv("CI", "")
	if r := startMissing(t); r.failed != "" || !strings.Contains(r.skipped, "apt-get install mariadb-server") {
		t.Errorf("skipped %q, failed %q; want a skip with the install hint", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	if r := startMissing(t); r.skipped != "" || !strings.Contains(r.failed, "apt-get install mariadb-server") {
		t.Errorf("skipped %q, failed %q under CI=true; want a failure with the install hint", r.skipped, r.failed)
	}
}
