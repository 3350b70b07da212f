package tests

import (
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// faultProxy forwards TCP connections to one server and can be cut like
// a network partition: while cut, a new connection is accepted and never
// answered (the server never sees it, so the client waits for a greeting
// that does not come), and bytes on the open connections are held, not
// forwarded; nothing is refused or reset. Heal lets everything through
// again. A hand-written proxy rather than toxiproxy: as a library it
// would bring a Prometheus client, zerolog, gorilla/mux and a CLI
// framework into the module for these few lines.
type faultProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	open   chan struct{} // closed while the path is up
	closed chan struct{} // closed by Close
	conns  []net.Conn
}

func startFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, open: make(chan struct{}), closed: make(chan struct{})}
	close(p.open)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Port is where clients connect instead of the server.
func (p *faultProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Cut stops all traffic, silently.
func (p *faultProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default:
	}
}

// Heal lets the traffic through again, what was held included.
func (p *faultProxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// Close stops the proxy and drops every connection.
func (p *faultProxy) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		return
	default:
	}
	close(p.closed)
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

// up waits until the path is up; false when the proxy was closed.
func (p *faultProxy) up() bool {
	p.mu.Lock()
	open := p.open
	p.mu.Unlock()
	select {
	case <-open:
		return true
	case <-p.closed:
		return false
	}
}

func (p *faultProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		c.Close()
		return false
	default:
		p.conns = append(p.conns, c)
		return true
	}
}

func (p *faultProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.track(client) {
			go p.serve(client)
		}
	}
}

func (p *faultProxy) serve(client net.Conn) {
	defer client.Close()
	if !p.up() {
		return
	}
	srv, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(srv) {
		return
	}
	defer srv.Close()
	go p.pipe(srv, client)
	p.pipe(client, srv)
}

// pipe copies from src to dst, holding each chunk while the path is cut.
func (p *faultProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.up() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				src.Close()
			}
			return
		}
	}
}

// The proxy's cut is a blackhole, not a refusal: an open connection gets
// neither its bytes nor an EOF, a new one is accepted and never answered,
// and after Heal the held bytes arrive.
func TestFaultProxyCut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	p := startFaultProxy(t, ln.Addr().String())
	addr := "127.0.0.1:" + strconv.Itoa(p.Port())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo := func(c net.Conn, msg string, wait time.Duration) (string, error) {
		if msg != "" {
			if _, err := c.Write([]byte(msg)); err != nil {
				return "", err
			}
		}
		c.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		return string(buf[:n]), err
	}
	if got, err := echo(c, "a", 5*time.Second); got != "a" {
		t.Fatalf("before the cut: %q, %v", got, err)
	}
	p.Cut()
	if got, err := echo(c, "b", 200*time.Millisecond); !os.IsTimeout(err) {
		t.Errorf("open connection during the cut: %q, %v; want a timeout", got, err)
	}
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("a new connection during the cut was refused: %v", err)
	}
	defer c2.Close()
	if got, err := echo(c2, "c", 200*time.Millisecond); !os.IsTimeout(err) {
		t.Errorf("new connection during the cut: %q, %v; want a timeout", got, err)
	}
	p.Heal()
	if got, err := echo(c, "", 5*time.Second); got != "b" {
		t.Errorf("after the heal: %q, %v; want the held b", got, err)
	}
	if got, err := echo(c2, "", 5*time.Second); got != "c" {
		t.Errorf("the connection accepted during the cut, after the heal: %q, %v", got, err)
	}
}
