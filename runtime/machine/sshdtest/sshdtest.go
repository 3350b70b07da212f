// Package sshdtest runs a real sshd on 127.0.0.1 for tests of remote
// machines: throwaway host and client keys, the current user let in with
// the client key only, no user ssh config, agent or known_hosts involved.
//
//	d := sshdtest.Start(t)
//	h, _ := machine.NewSSH(machine.SSHOptions{Destination: d.Destination(), Port: d.Port,
//		Identity: d.ClientKey, ConfigFile: "/dev/null", Options: d.Options()})
//
// The sshd is our child and is killed by its pid when the test ends.
// Without sshd, ssh or ssh-keygen the test is skipped, or fails when
// CI=true: CI must never skip the tests against real servers. The package
// imports nothing of this module, so that runtime/machine's own tests can
// use it.
package sshdtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary is the sshd started; sshd refuses to run from a relative path.
const Binary = "/usr/sbin/sshd"

// Hint says how to get what a skipped test lacked.
const Hint = `install the ssh server and client with "apt-get install -y openssh-server openssh-client" (the system service need not run)`

// SSHD is a running sshd.
type SSHD struct {
	Dir        string // its keys, config and log live here (a t.TempDir)
	Port       int
	User       string // the current user, whom it lets in
	ClientKey  string // private key file to log in with (ssh -i)
	KnownHosts string // a known_hosts file holding its host key

	log *lockedBuffer
}

// Destination is user@127.0.0.1.
func (d *SSHD) Destination() string { return d.User + "@127.0.0.1" }

// Options are the ssh -o values that reach this sshd and nothing else:
// its host key only, the client key only, no agent.
func (d *SSHD) Options() []string {
	return []string{
		"UserKnownHostsFile=" + d.KnownHosts,
		"GlobalKnownHostsFile=/dev/null",
		"StrictHostKeyChecking=yes",
		"IdentitiesOnly=yes",
		"IdentityAgent=none",
		"LogLevel=ERROR",
	}
}

// Log is what sshd has written so far (-e: its log goes to stderr).
func (d *SSHD) Log() string { return d.log.String() }

// Start runs an sshd for t, stopped when t ends; its log is quoted when t
// failed.
func Start(t testing.TB) *SSHD {
	t.Helper()
	for _, bin := range []string{Binary, "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			need(t, err)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	d := &SSHD{Dir: t.TempDir(), User: u.Username}
	hostKey := filepath.Join(d.Dir, "host_key")
	d.ClientKey = filepath.Join(d.Dir, "client_key")
	for _, key := range []string{hostKey, d.ClientKey} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sshdtest", "-f", key).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(d.ClientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(d.Dir, "authorized_keys"), string(pub))
	if os.Geteuid() == 0 {
		// sshd running as root wants its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = d.start(t, hostKey); lastErr == nil {
			return d
		}
	}
	need(t, lastErr)
	return nil
}

// need skips t for lack of err's tool, or fails it under CI=true.
func need(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v (CI=true, so this fails instead of skipping; %s)", err, Hint)
	}
	t.Skipf("%v; %s", err, Hint)
}

// start runs sshd on a free port; a port taken meanwhile is an error the
// caller retries.
func (d *SSHD) start(t testing.TB, hostKey string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	d.Port = port
	config := filepath.Join(d.Dir, "sshd_config")
	writeFile(t, config, strings.Join([]string{
		"ListenAddress 127.0.0.1",
		"HostKey " + hostKey,
		"AuthorizedKeysFile " + filepath.Join(d.Dir, "authorized_keys"),
		"PidFile " + filepath.Join(d.Dir, "sshd.pid"),
		"StrictModes no", // t.TempDir() is not a home directory
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"X11Forwarding no",
		"AllowTcpForwarding no",
		"PrintMotd no",
	}, "\n")+"\n")
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(pub))
	d.KnownHosts = filepath.Join(d.Dir, "known_hosts")
	writeFile(t, d.KnownHosts, fmt.Sprintf("[127.0.0.1]:%d %s %s\n", d.Port, fields[0], fields[1]))

	d.log = &lockedBuffer{}
	cmd := exec.Command(Binary, "-D", "-e", "-f", config, "-p", strconv.Itoa(d.Port))
	cmd.Stdout, cmd.Stderr = d.log, d.log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	log := d.log
	t.Cleanup(func() {
		cmd.Process.Kill() // our child, by its pid
		<-exited
		if t.Failed() {
			t.Logf("sshd log:\n%s", log)
		}
	})
	return waitListening(d.Port, exited, log)
}

func waitListening(port int, exited <-chan struct{}, log *lockedBuffer) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("sshd exited: %s", log)
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sshd not listening on port %d after 10s: %s", port, log)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer collects sshd's log, written by exec's copying goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
