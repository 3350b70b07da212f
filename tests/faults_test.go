package tests

import (
	"context"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/harness"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// killPrimary ends db1 with SIGKILL, as a crash would, and waits until it
// is gone: the sandbox's servers are children of the test process.
func killPrimary(t *testing.T, sb *sandbox.Sandbox) { killPrimaryB(t, sb) }

func killPrimaryB(t testing.TB, sb *sandbox.Sandbox) {
	t.Helper()
	if err := harness.KillServer(context.Background(), sb.Primary()); err != nil {
		t.Fatal(err)
	}
}

// wrongPassword gives server name a password of its own in the deployment
// file, a wrong one: the server runs, and refuses the tool's login, as
// after a rotated secret.
func wrongPassword(t *testing.T, deployment, name string) {
	t.Helper()
	if err := harness.WrongPassword(deployment, sandbox.DefaultUser, name); err != nil {
		t.Fatal(err)
	}
}
