package machine

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

const sshdBinary = "/usr/sbin/sshd" // sshd refuses to run from a relative path

const sshHint = `install the ssh server and client with "apt-get install -y openssh-server openssh-client" (the system service need not run)`

// testSSHD is an sshd on 127.0.0.1 with throwaway host and client keys,
// that lets the current user in with the client key only.
type testSSHD struct {
	dir        string
	port       int
	user       string
	clientKey  string
	knownHosts string
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

func startSSHD(t *testing.T) *testSSHD {
	t.Helper()
	for _, bin := range []string{sshdBinary, "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			need(t, err, sshHint)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	d := &testSSHD{dir: t.TempDir(), user: u.Username}
	hostKey := filepath.Join(d.dir, "host_key")
	d.clientKey = filepath.Join(d.dir, "client_key")
	for _, key := range []string{hostKey, d.clientKey} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "machine-test", "-f", key).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	copyFile(t, d.clientKey+".pub", filepath.Join(d.dir, "authorized_keys"))
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
	need(t, lastErr, sshHint)
	return nil
}

// start runs sshd on a free port; a port taken meanwhile is an error the
// caller retries.
func (d *testSSHD) start(t *testing.T, hostKey string) error {
	d.port = freePort(t)
	config := filepath.Join(d.dir, "sshd_config")
	writeLines(t, config,
		"ListenAddress 127.0.0.1",
		"HostKey "+hostKey,
		"AuthorizedKeysFile "+filepath.Join(d.dir, "authorized_keys"),
		"PidFile "+filepath.Join(d.dir, "sshd.pid"),
		"StrictModes no", // t.TempDir() is not a home directory
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"X11Forwarding no",
		"AllowTcpForwarding no",
		"PrintMotd no",
	)
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(pub))
	d.knownHosts = filepath.Join(d.dir, "known_hosts")
	writeLines(t, d.knownHosts, fmt.Sprintf("[127.0.0.1]:%d %s %s", d.port, fields[0], fields[1]))

	log := &lockedBuffer{}
	cmd := exec.Command(sshdBinary, "-D", "-e", "-f", config, "-p", strconv.Itoa(d.port))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // our child, by its pid
		<-exited
		if t.Failed() {
			t.Logf("sshd log:\n%s", log)
		}
	})
	return waitListening(d.port, exited, log)
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

// options reach the test sshd and nothing else: no user ssh config, no
// agent, only the throwaway key and known_hosts.
func (d *testSSHD) options() SSHOptions {
	return SSHOptions{
		Destination: d.user + "@127.0.0.1",
		Port:        d.port,
		Identity:    d.clientKey,
		ConfigFile:  "/dev/null",
		Options:     d.sshOptions(),
	}
}

func (d *testSSHD) sshOptions() []string {
	return []string{
		"UserKnownHostsFile=" + d.knownHosts,
		"GlobalKnownHostsFile=/dev/null",
		"StrictHostKeyChecking=yes",
		"IdentitiesOnly=yes",
		"IdentityAgent=none",
		"LogLevel=ERROR",
	}
}

func (d *testSSHD) host(t *testing.T) *SSH {
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

func writeLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
