package server

import (
	"crypto/tls"
	"crypto/x509"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"testing"

	gosql "github.com/go-sql-driver/mysql"
)

// A refused server certificate names the server, says it is a certificate
// problem, and what it was checked against.
func TestWrapCertificateError(t *testing.T) {
	for _, tc := range []struct {
		tls  TLSConfig
		want string
	}{
		{TLSConfig{Mode: TLSVerify, CA: "/etc/ssl/ours.pem"}, "(ca /etc/ssl/ours.pem, name 10.0.0.5)"},
		{TLSConfig{Mode: TLSVerify, ServerName: "db1.example"}, "(the system's CAs, name db1.example)"},
	} {
		s := &Server{cfg: Config{Name: "db1", Host: "10.0.0.5", Port: 3306, User: "u", TLS: tc.tls}}
		verr := &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
		err := s.wrap("connect", fmt.Errorf("handshake: %w", verr))
		msg := err.Error()
		for _, part := range []string{"db1 (10.0.0.5:3306): connect: TLS: the server's certificate is not accepted", tc.want, "unknown authority"} {
			if !strings.Contains(msg, part) {
				t.Errorf("%q lacks %q", msg, part)
			}
		}
	}
}

// A connection the driver only calls invalid gets the cause the driver
// logged, once.
func TestWrapInvalidConnection(t *testing.T) {
	s, err := New(Config{Name: "db1", Host: "10.0.0.5", User: "u"})
	if err != nil {
		t.Fatal(err)
	}
	s.driverLog.Print("packets.go:58 ", errors.New("remote error: tls: unknown certificate authority"))
	want := "db1 (10.0.0.5:3306): connect: invalid connection (remote error: tls: unknown certificate authority)"
	if got := s.wrap("connect", gosql.ErrInvalidConn).Error(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := s.wrap("connect", driver.ErrBadConn).Error(); got != "db1 (10.0.0.5:3306): connect: driver: bad connection" {
		t.Errorf("a second failure quotes the first one's cause: %q", got)
	}
	// The driver's unexported "bad connection" (nothing written yet).
	s.driverLog.Print("packets.go:155 ", errors.New("remote error: tls: bad certificate"))
	if got := s.wrap("connect", errors.New("bad connection")).Error(); got != "db1 (10.0.0.5:3306): connect: bad connection (remote error: tls: bad certificate)" {
		t.Errorf("got %q", got)
	}
}
