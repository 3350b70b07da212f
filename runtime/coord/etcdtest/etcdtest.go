// Package etcdtest starts a real etcd cluster for tests: Debian's
// etcd-server, one process per member on loopback ports, each with its
// own data directory, stopped by pid when the test ends.
package etcdtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// Options say how to start the cluster.
type Options struct {
	Members int  // 3 when 0
	TLS     bool // clients must use TLS and present a certificate signed by the cluster's CA
}

// Cluster is a running etcd cluster of a test.
type Cluster struct {
	t       testing.TB
	Members []*Member
	// TLS holds the CA, the members' certificate and a client
	// certificate, when Options.TLS.
	TLS *sandbox.TLSFiles
}

// Member is one etcd process.
type Member struct {
	Name      string
	ClientURL string // http(s)://127.0.0.1:port
	PeerURL   string
	Dir       string // its data directory and log
	args      []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// binary finds etcd, or fails the test (skips it outside CI).
func binary(t testing.TB) string {
	for _, p := range []string{"/usr/bin/etcd", "/usr/local/bin/etcd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	msg := "etcd not found: install Debian's etcd-server (scripts/install-deps.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// freePort asks the kernel for a loopback port nobody listens on.
func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start starts the cluster and waits until every member answers.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	if o.Members == 0 {
		o.Members = 3
	}
	bin := binary(t)
	dir := t.TempDir()
	c := &Cluster{t: t}
	scheme := "http"
	if o.TLS {
		files, err := sandbox.GenerateTLS(filepath.Join(dir, "tls"))
		if err != nil {
			t.Fatal(err)
		}
		c.TLS, scheme = &files, "https"
	}
	var initial []string
	for i := 1; i <= o.Members; i++ {
		m := &Member{
			Name:      fmt.Sprintf("etcd%d", i),
			ClientURL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, freePort(t)),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
			Dir:       filepath.Join(dir, fmt.Sprintf("etcd%d", i)),
		}
		c.Members = append(c.Members, m)
		initial = append(initial, m.Name+"="+m.PeerURL)
	}
	for _, m := range c.Members {
		m.args = []string{bin,
			"--name", m.Name, "--data-dir", filepath.Join(m.Dir, "data"),
			"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
			"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", filepath.Base(dir),
			// Loopback: elect within half a second, so that tests of a
			// lost member do not wait for the WAN defaults (1 s, 100 ms).
			"--heartbeat-interval", "50", "--election-timeout", "500",
			"--logger", "zap", "--log-outputs", "stderr",
		}
		if c.TLS != nil {
			m.args = append(m.args, "--cert-file", c.TLS.ServerCert, "--key-file", c.TLS.ServerKey,
				"--trusted-ca-file", c.TLS.CA, "--client-cert-auth")
		}
		if err := os.MkdirAll(m.Dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := m.start(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, m := range c.Members {
			m.Stop()
		}
		if t.Failed() {
			for _, m := range c.Members {
				t.Logf("%s log (end):\n%s", m.Name, m.LogTail(20))
			}
		}
	})
	for _, m := range c.Members {
		c.WaitHealthy(m, 30*time.Second)
	}
	return c
}

func (m *Member) start() error {
	log, err := os.OpenFile(filepath.Join(m.Dir, "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(m.args[0], m.args[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("etcdtest: start %s: %w", m.Name, err)
	}
	m.mu.Lock()
	m.cmd = cmd
	m.mu.Unlock()
	go cmd.Wait()
	return nil
}

// Pid is the member's process id, 0 when stopped.
func (m *Member) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// Stop kills the member (SIGKILL, by its pid) and waits until it is gone.
// Its data directory stays, so Restart brings it back as the same member.
func (m *Member) Stop() {
	m.mu.Lock()
	cmd := m.cmd
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGCONT) // a paused member must be able to die
	cmd.Process.Kill()
	for i := 0; i < 500; i++ {
		if cmd.ProcessState != nil {
			return
		}
		if err := syscall.Kill(cmd.Process.Pid, 0); err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Restart starts a stopped member again with its data.
func (m *Member) Restart() error {
	if m.Pid() != 0 {
		return nil
	}
	return m.start()
}

// LogTail is the end of the member's log.
func (m *Member) LogTail(lines int) string {
	b, _ := os.ReadFile(filepath.Join(m.Dir, "etcd.log"))
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Endpoints are the members' client addresses, host:port.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(m.ClientURL, "http://"), "https://"))
	}
	return out
}

// URL is the coordinator address the tool takes: etcd://h:p,h:p,...
func (c *Cluster) URL() string { return "etcd://" + strings.Join(c.Endpoints(), ",") }

// Etcdctl runs Debian's etcdctl against the cluster (API v3) and returns
// its output.
func (c *Cluster) Etcdctl(args ...string) (string, error) {
	all := []string{"--endpoints", strings.Join(c.clientURLs(), ","), "--dial-timeout", "2s", "--command-timeout", "5s"}
	if c.TLS != nil {
		all = append(all, "--cacert", c.TLS.CA, "--cert", c.TLS.ClientCert, "--key", c.TLS.ClientKey)
	}
	cmd := exec.Command("etcdctl", append(all, args...)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *Cluster) clientURLs() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.ClientURL)
	}
	return out
}

// WaitHealthy waits until the member answers a linearizable read.
func (c *Cluster) WaitHealthy(m *Member, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		args := []string{"--endpoints", m.ClientURL, "--dial-timeout", "1s", "--command-timeout", "2s"}
		if c.TLS != nil {
			args = append(args, "--cacert", c.TLS.CA, "--cert", c.TLS.ClientCert, "--key", c.TLS.ClientKey)
		}
		cmd := exec.Command("etcdctl", append(args, "endpoint", "health")...)
		cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
		out, err := cmd.CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("etcd member %s not healthy within %s: %v: %s\nlog:\n%s", m.Name, timeout, err, out, m.LogTail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
