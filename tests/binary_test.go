// Package tests holds the end-to-end tests: they build the real binary,
// start sandboxes of real servers and run playbooks against them.
package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// binary builds cmd/replicant-lua once per test process and returns its
// path.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "replicant-lua-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "replicant-lua")
		// -buildvcs=auto: the revision --version prints, even where GOFLAGS
		// turns VCS stamping off; no error where there is no git checkout.
		cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", binPath, "../cmd/replicant-lua")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building replicant-lua: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// run executes the binary with args, an optional stdin, and extra
// environment variables.
func run(t testing.TB, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewBufferString(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running replicant-lua %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}
