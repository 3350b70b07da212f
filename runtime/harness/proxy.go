package harness

import (
	"fmt"
	"io"
	"net"
	"sync"
)

// Proxy forwards TCP connections to one address and can be cut like a
// network partition: while cut, a new connection is accepted and never
// answered (the server never sees it, so the client waits for a greeting
// that does not come), and bytes on the open connections are held, not
// forwarded; nothing is refused or reset. Heal lets everything through
// again, what was held included. A hand-written proxy rather than
// toxiproxy: as a library it would bring a Prometheus client, zerolog,
// gorilla/mux and a CLI framework into the module for these few lines.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	open   chan struct{} // closed while the path is up
	closed chan struct{} // closed by Close
	conns  []net.Conn
}

// StartProxy listens on a free port of 127.0.0.1 and forwards what
// arrives there to target ("host:port"), dialled anew for each client.
func StartProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy to %s: %w", target, err)
	}
	p := &Proxy{ln: ln, target: target, open: make(chan struct{}), closed: make(chan struct{})}
	close(p.open)
	go p.accept()
	return p, nil
}

// Addr is where clients connect instead of the target: "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port is Addr's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Cut stops all traffic, silently. Cutting a cut path is not an error.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default:
	}
}

// Heal lets the traffic through again, what was held included.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// IsCut reports whether the path is cut.
func (p *Proxy) IsCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		return false
	default:
		return true
	}
}

// Close stops the proxy and drops every connection. Closing twice is
// fine.
func (p *Proxy) Close() {
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
	p.conns = nil
}

// up waits until the path is up; false when the proxy was closed.
func (p *Proxy) up() bool {
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

func (p *Proxy) track(c net.Conn) bool {
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

// forget drops a finished connection from the list Close walks, so that
// a long-lived proxy (a watch loop reconnecting for days) does not keep
// every connection it ever had.
func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.conns {
		if x == c {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			return
		}
	}
}

func (p *Proxy) accept() {
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

func (p *Proxy) serve(client net.Conn) {
	defer p.forget(client)
	defer client.Close()
	if !p.up() {
		return
	}
	srv, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(srv) {
		return
	}
	defer p.forget(srv)
	defer srv.Close()
	done := make(chan struct{})
	go func() { p.pipe(srv, client); close(done) }()
	p.pipe(client, srv)
	<-done
}

// pipe copies from src to dst, holding each chunk while the path is cut.
func (p *Proxy) pipe(dst, src net.Conn) {
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
			// The end of a connection is traffic too: while cut, its FIN
			// or reset is held like its bytes, as a partition would.
			p.up()
			if err != io.EOF {
				src.Close()
			}
			return
		}
	}
}
