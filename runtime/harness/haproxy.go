package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// ErrNoHAProxy is wrapped by StartHAProxy and FindHAProxy when no haproxy
// binary can be found.
var ErrNoHAProxy = errors.New("haproxy not found (Debian: apt-get install haproxy; scripts/install-deps.sh installs it)")

// DefaultHAProxy is Debian's haproxy, tried before PATH.
const DefaultHAProxy = "/usr/sbin/haproxy"

// HAProxyOptions say what StartHAProxy runs.
type HAProxyOptions struct {
	// Dir holds the configuration and, when the path is short enough, the
	// admin socket; "" makes a temporary directory that Stop removes.
	Dir string
	// Backend names the listen section; default "writer".
	Backend string
	// Servers are name -> host:port, written in the order of their names.
	Servers map[string]string
	// Ready is the one server that takes connections; the others are
	// disabled (state maint), for a playbook to move the writes to.
	Ready string
	// Binary is the haproxy to run; default DefaultHAProxy, then PATH.
	Binary string
}

// HAProxy is a haproxy process run in the foreground (-db) for a test, in
// TCP mode in front of a sandbox, with an admin socket.
type HAProxy struct {
	addr, socket, backend string
	dir                   string   // the configuration's
	servers               []string // names, sorted
	cmd                   *exec.Cmd
	out                   *Output
	exited                chan struct{} // closed once cmd.Wait returned
	removeDirs            []string      // temporary directories Stop removes
	stopOnce              sync.Once
	stopErr               error
}

// maxSocketPath keeps the admin socket under the 107 bytes of sun_path
// (with its NUL, 108).
const maxSocketPath = 100

// haproxyName is what StartHAProxy accepts as a backend or server name:
// HAProxy's own identifier characters, so that no name can add a line to
// the configuration.
var haproxyName = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// FindHAProxy returns path when it is executable, else DefaultHAProxy,
// else haproxy on PATH.
func FindHAProxy(path string) (string, error) {
	if path != "" {
		if err := executable(path); err != nil {
			return "", fmt.Errorf("%s: %w: %v", path, ErrNoHAProxy, err)
		}
		return path, nil
	}
	if executable(DefaultHAProxy) == nil {
		return DefaultHAProxy, nil
	}
	p, err := exec.LookPath("haproxy")
	if err != nil {
		return "", fmt.Errorf("%w: not %s nor on PATH", ErrNoHAProxy, DefaultHAProxy)
	}
	return p, nil
}

func executable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// SandboxHAProxy is StartHAProxy in front of every server of sb, each by
// its name, ready the one it names; dir as HAProxyOptions.Dir.
func SandboxHAProxy(ctx context.Context, sb *sandbox.Sandbox, dir, ready string) (*HAProxy, error) {
	servers := map[string]string{}
	for _, in := range sb.Instances {
		servers[in.Name] = in.Addr()
	}
	return StartHAProxy(ctx, HAProxyOptions{Dir: dir, Servers: servers, Ready: ready})
}

// StartHAProxy writes the configuration, starts haproxy and waits until
// its admin socket exists and its frontend accepts connections. ctx bounds
// that wait (and 10 s at most); the process lives until Stop.
func StartHAProxy(ctx context.Context, o HAProxyOptions) (*HAProxy, error) {
	if o.Backend == "" {
		o.Backend = "writer"
	}
	names, err := checkHAProxyOptions(o)
	if err != nil {
		return nil, err
	}
	bin, err := FindHAProxy(o.Binary)
	if err != nil {
		return nil, err
	}
	h := &HAProxy{backend: o.Backend, servers: names}
	// A free port may be taken between our Listen and haproxy's bind: a
	// bind failure is tried again on another port.
	for attempt := 1; ; attempt++ {
		if err := h.makeDirs(o.Dir); err != nil {
			return nil, err
		}
		err = h.start(ctx, bin, o)
		if err == nil {
			return h, nil
		}
		h.halt()
		h.removeTemp()
		if attempt == 3 || !strings.Contains(h.Output(), "cannot bind socket") {
			return nil, err
		}
	}
}

func checkHAProxyOptions(o HAProxyOptions) ([]string, error) {
	if !haproxyName.MatchString(o.Backend) {
		return nil, fmt.Errorf("haproxy: backend name %q: want letters, digits, _ . : -", o.Backend)
	}
	if len(o.Servers) == 0 {
		return nil, errors.New("haproxy: no servers")
	}
	names := make([]string, 0, len(o.Servers))
	for name, addr := range o.Servers {
		if !haproxyName.MatchString(name) {
			return nil, fmt.Errorf("haproxy: server name %q: want letters, digits, _ . : -", name)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil || strings.ContainsAny(addr, " \t\r\n#") {
			return nil, fmt.Errorf("haproxy: server %s: address %q: want host:port", name, addr)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	if _, ok := o.Servers[o.Ready]; !ok {
		return nil, fmt.Errorf("haproxy: ready server %q is not among the servers (%s)", o.Ready, strings.Join(names, ", "))
	}
	return names, nil
}

// makeDirs sets the configuration's directory (dir, or a new temporary
// one when empty) and the socket's path, in a short temporary directory
// when dir's is too long.
func (h *HAProxy) makeDirs(dir string) error {
	h.removeDirs = nil
	if dir == "" {
		d, err := os.MkdirTemp("", "haproxy-")
		if err != nil {
			return fmt.Errorf("haproxy: %w", err)
		}
		dir = d
		h.removeDirs = append(h.removeDirs, d)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("haproxy: %w", err)
	}
	h.dir = dir
	h.socket = filepath.Join(dir, "admin.sock")
	if len(h.socket) > maxSocketPath {
		d, err := os.MkdirTemp("", "haproxy-")
		if err != nil {
			h.removeTemp()
			return fmt.Errorf("haproxy: %w", err)
		}
		h.socket = filepath.Join(d, "admin.sock")
		h.removeDirs = append(h.removeDirs, d)
	}
	os.Remove(h.socket) // a previous run's
	return nil
}

func (h *HAProxy) removeTemp() {
	for _, d := range h.removeDirs {
		os.RemoveAll(d)
	}
	h.removeDirs = nil
}

// config is the whole configuration. A client connecting while the
// backend's ready server is a dead primary waits in HAProxy's retries,
// each after a turn-around of min(timeout connect, 1 s); redispatch sends
// each retry to the server ready now, so once a failover moved the writes
// the client gets there within one turn-around.
func (h *HAProxy) config(o HAProxyOptions) string {
	var servers strings.Builder
	for _, name := range h.servers {
		state := ""
		if name != o.Ready {
			state = " disabled"
		}
		fmt.Fprintf(&servers, "  server %s %s%s\n", name, o.Servers[name], state)
	}
	return fmt.Sprintf(`global
  stats socket %s mode 600 level admin
defaults
  mode tcp
  timeout connect 250ms
  retries 10
  option redispatch 1
  timeout client 60s
  timeout server 60s
listen %s
  bind %s
%s`, h.socket, h.backend, h.addr, servers.String())
}

func (h *HAProxy) start(ctx context.Context, bin string, o HAProxyOptions) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("haproxy: a free port: %w", err)
	}
	h.addr = ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(h.dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(h.config(o)), 0o600); err != nil {
		return fmt.Errorf("haproxy: %w", err)
	}
	h.cmd = exec.Command(bin, "-db", "-f", cfg)
	h.out = &Output{}
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	h.exited = make(chan struct{})
	if err := h.cmd.Start(); err != nil {
		close(h.exited)
		return fmt.Errorf("haproxy: start %s: %w", bin, err)
	}
	go func() { h.cmd.Wait(); close(h.exited) }()
	return h.waitReady(ctx)
}

// waitReady polls for the admin socket and the frontend; haproxy creates
// both before it serves, but after the process started.
func (h *HAProxy) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(h.socket); err == nil {
			c, err := net.DialTimeout("tcp", h.addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				return nil
			}
		}
		select {
		case <-h.exited:
			return fmt.Errorf("haproxy (pid %d) exited before it was ready: %s; its output:\n%s",
				h.Pid(), h.cmd.ProcessState, h.Output())
		case <-ctx.Done():
			return fmt.Errorf("haproxy (pid %d): no admin socket %s and frontend %s yet: %w; its output:\n%s",
				h.Pid(), h.socket, h.addr, ctx.Err(), h.Output())
		case <-tick.C:
		}
	}
}

// Addr is the frontend, host:port on loopback.
func (h *HAProxy) Addr() string { return h.addr }

// Socket is the admin socket (stats socket ... level admin).
func (h *HAProxy) Socket() string { return h.socket }

// Backend is the listen section's name, as in "set server BACKEND/SRV".
func (h *HAProxy) Backend() string { return h.backend }

// Pid is haproxy's process id.
func (h *HAProxy) Pid() int {
	if h.cmd == nil || h.cmd.Process == nil {
		return 0
	}
	return h.cmd.Process.Pid
}

// Output is what haproxy wrote to stdout and stderr so far.
func (h *HAProxy) Output() string {
	if h.out == nil {
		return ""
	}
	return h.out.String()
}

// Command sends one runtime API command ("show servers state", "set
// server writer/db2 state ready") to the admin socket and returns the
// answer; haproxy closes the connection after it, which ends the read.
func (h *HAProxy) Command(ctx context.Context, command string) (string, error) {
	if strings.ContainsAny(command, "\r\n;") {
		return "", fmt.Errorf("haproxy %s: one command per call, without ; or newline: %q", h.socket, command)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", h.socket)
	if err != nil {
		return "", fmt.Errorf("haproxy %s: %s: %w", h.socket, command, err)
	}
	defer c.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	c.SetDeadline(deadline)
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return "", fmt.Errorf("haproxy %s: %s: %w", h.socket, command, err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return string(b), fmt.Errorf("haproxy %s: %s: %w", h.socket, command, err)
	}
	return string(b), nil
}

// Stop sends SIGTERM to haproxy's pid, SIGKILL after 5 s, and waits for
// it to exit; it removes the temporary directories it made. It returns an
// error when SIGKILL was needed. A second call does nothing.
func (h *HAProxy) Stop() error {
	h.stopOnce.Do(func() {
		h.stopErr = h.halt()
		h.removeTemp()
	})
	return h.stopErr
}

func (h *HAProxy) halt() error {
	if h.Pid() == 0 {
		return nil
	}
	select {
	case <-h.exited:
		return nil
	default:
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
		return nil
	case <-time.After(5 * time.Second):
		h.cmd.Process.Kill()
		<-h.exited
		return fmt.Errorf("haproxy (pid %d) did not stop within 5 s of SIGTERM: killed", h.Pid())
	}
}

// AddToDeployment makes the deployment file at path name this proxy: the
// file moves to base-NAME beside it, and path becomes a wrapper that loads
// it and sets proxies = { { kind = "haproxy", socket = ..., backend = ...,
// servers = { db1 = "db1", ... } } } (deployment server -> HAProxy server,
// the same names here).
func (h *HAProxy) AddToDeployment(path string) error {
	base := filepath.Join(filepath.Dir(path), "base-"+filepath.Base(path))
	if _, err := os.Stat(base); err == nil {
		return fmt.Errorf("%s: already wrapped (%s exists)", path, base)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("deployment %s: %w", path, err)
	}
	if err := os.Rename(path, base); err != nil {
		return fmt.Errorf("deployment %s: %w", path, err)
	}
	var servers []string
	for _, name := range h.servers {
		servers = append(servers, fmt.Sprintf("[%s] = %s", luaQuote(name), luaQuote(name)))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "-- written by the test harness: %s with the test's HAProxy\n", filepath.Base(base))
	fmt.Fprintf(&b, "local d = dofile(%s)\n", luaQuote(base))
	fmt.Fprintf(&b, "d.proxies = { { kind = \"haproxy\", socket = %s, backend = %s, servers = { %s } } }\n",
		luaQuote(h.socket), luaQuote(h.backend), strings.Join(servers, ", "))
	b.WriteString("return d\n")
	if err := os.WriteFile(path, b.Bytes(), st.Mode().Perm()); err != nil {
		os.Rename(base, path)
		return fmt.Errorf("deployment %s: %w", path, err)
	}
	return nil
}

// luaQuote writes s as a Lua 5.1 string literal: Go's %q is not one (Lua
// 5.1 has no \x or \u escapes), so control bytes become \ddd.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
