package machine

import (
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/machine/sshdtest"
)

// testSSHD is a real sshd on 127.0.0.1 (see sshdtest) with the SSH
// options that reach it.
type testSSHD struct {
	*sshdtest.SSHD
}

func startSSHD(t *testing.T) testSSHD { return testSSHD{sshdtest.Start(t)} }

// options reach the test sshd and nothing else: no user ssh config, no
// agent, only the throwaway key and known_hosts.
func (d testSSHD) options() SSHOptions {
	return SSHOptions{
		Destination: d.Destination(),
		Port:        d.Port,
		Identity:    d.ClientKey,
		ConfigFile:  "/dev/null",
		Options:     d.Options(),
	}
}

func (d testSSHD) host(t *testing.T) *SSH {
	t.Helper()
	h, err := NewSSH(d.options())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Run(testContext(t, 30*time.Second), []string{"true"}); err != nil {
		t.Fatalf("logging in to the test sshd: %v", err)
	}
	return h
}
