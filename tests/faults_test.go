package tests

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// killPrimary ends db1 with SIGKILL, as a crash would, and waits until it
// is gone: the sandbox's servers are children of the test process.
func killPrimary(t *testing.T, sb *sandbox.Sandbox) { killPrimaryB(t, sb) }

func killPrimaryB(t testing.TB, sb *sandbox.Sandbox) {
	pid := sb.Primary().Pid
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if !strings.Contains(string(cmdline), "mariadbd") && !strings.Contains(string(cmdline), "mysqld") {
		t.Fatalf("pid %d is not db1's server: %q", pid, cmdline)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sv := connect(t, sb, sb.Primary())
	waitFor(t, "db1 to die", func() bool { return sv.Ping(context.Background()) != nil })
}

// wrongPassword gives server name a password of its own in the deployment
// file, a wrong one: the server runs, and refuses the tool's login, as
// after a rotated secret.
func wrongPassword(t *testing.T, deployment, name string) {
	b, err := os.ReadFile(deployment)
	if err != nil {
		t.Fatal(err)
	}
	entry := "    " + name + " = { host = \"127.0.0.1\", "
	text := string(b)
	if !strings.Contains(text, entry) {
		t.Fatalf("no entry %q in %s", entry, deployment)
	}
	text = strings.Replace(text, entry, entry+"user = { name = \"replicant\", password = \"not-the-password\" }, ", 1)
	if err := os.WriteFile(deployment, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
