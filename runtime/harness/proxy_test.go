package harness

import (
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echoServer listens on a loopback port and echoes what each connection
// sends, until the test ends; it returns its address.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// The proxy's cut is a blackhole, not a refusal: an open connection gets
// neither its bytes nor an EOF, a new one is accepted and never answered,
// and after Heal the held bytes arrive.
func TestProxyCut(t *testing.T) {
	p, err := StartProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := p.Addr()
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

// Close drops the connections a proxy holds, even through a cut, and
// the port then refuses.
func TestProxyClose(t *testing.T) {
	p, err := StartProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p.Cut()
	if !p.IsCut() {
		t.Errorf("IsCut after Cut: false")
	}
	c.Write([]byte("x"))
	p.Close()
	p.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 4)); err == nil || os.IsTimeout(err) {
		t.Errorf("a connection after Close: %d bytes, %v; want it closed", n, err)
	}
	if !refused(p.Addr()) {
		t.Errorf("a closed proxy still accepts connections")
	}
}
