// Package server talks to one MySQL or MariaDB server: it connects lazily,
// keeps one session for statements whose effect is tied to a connection
// (locks, session variables), detects the flavor, and returns rows as typed
// values. It knows nothing of Lua.
package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	gosql "github.com/go-sql-driver/mysql"
)

// Secret holds a password. Its String, GoString and MarshalText never show
// the value, so a Secret printed by mistake in a log, an error or an audit
// record leaks nothing (gh-ost keeps its connection config the same way).
type Secret string

const redacted = "******"

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Reveal returns the password itself, for the driver only.
func (s Secret) Reveal() string { return string(s) }

// TLS modes, as an operator writes them in a deployment file.
const (
	TLSDisabled  = "disabled"  // plain TCP
	TLSPreferred = "preferred" // TLS when the server offers it, unverified
	TLSRequired  = "required"  // TLS or fail, certificate not verified
	TLSVerify    = "verify"    // TLS with the certificate verified against CA and host name
)

// TLSConfig says how to protect the connection. The zero value is disabled.
type TLSConfig struct {
	Mode       string // one of the TLS* constants; "" means disabled, or verify when CA is set
	CA         string // PEM file of the CA that signed the server's certificate
	Cert, Key  string // client certificate and key, PEM files
	ServerName string // host name to verify instead of Host
}

// Config describes how to reach and log in to one server.
type Config struct {
	Name   string // the deployment's name for it ("db2"); may be empty
	Host   string
	Port   int
	Socket string // unix socket path; used instead of Host:Port when set
	// ReplicationHost and ReplicationPort are the address replicas use to
	// reach the server when it is not the one the tool uses (the tool on
	// an admin network or through a proxy, replication on another); empty
	// and 0 mean Host and Port.
	ReplicationHost string
	ReplicationPort int
	User            string
	Password        Secret
	TLS             TLSConfig

	// ConnectTimeout bounds a new connection: dial, greeting,
	// authentication and the first query. Statements are bounded by their
	// deadline (Deadlines) instead of a read timeout, because waits for
	// replication legitimately run for minutes.
	ConnectTimeout time.Duration
}

// DefaultPort is the MySQL and MariaDB default.
const DefaultPort = 3306

// DefaultConnectTimeout applies when Config.ConnectTimeout is zero.
const DefaultConnectTimeout = 5 * time.Second

// ParseAddress splits "host:port", "host" or "[::1]:3307". A path that
// starts with "/" is a unix socket.
func ParseAddress(addr string) (host string, port int, socket string, err error) {
	if addr == "" {
		return "", 0, "", fmt.Errorf("empty server address")
	}
	if addr[0] == '/' {
		return "", 0, addr, nil
	}
	h, p, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		// No port: the whole thing is a host name (or a bare IPv6 address).
		return addr, DefaultPort, "", nil
	}
	n, convErr := strconv.Atoi(p)
	if convErr != nil || n <= 0 || n > 65535 {
		return "", 0, "", fmt.Errorf("server address %q: port %q is not a number from 1 to 65535", addr, p)
	}
	if h == "" {
		return "", 0, "", fmt.Errorf("server address %q: empty host", addr)
	}
	return h, n, "", nil
}

// Address is how the server is reached: "127.0.0.1:3307" or the socket path.
func (c Config) Address() string {
	if c.Socket != "" {
		return c.Socket
	}
	port := c.Port
	if port == 0 {
		port = DefaultPort
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

// ReplicationAddress is the host and port a replica is pointed at to
// replicate from the server: ReplicationHost and ReplicationPort where
// set, Host and Port otherwise. The host is "" for a server reached over
// a socket that has no replication address.
func (c Config) ReplicationAddress() (host string, port int) {
	host, port = c.Host, c.Port
	if c.ReplicationHost != "" {
		host = c.ReplicationHost
	}
	if c.ReplicationPort != 0 {
		port = c.ReplicationPort
	}
	if port == 0 {
		port = DefaultPort
	}
	return host, port
}

// Validate reports what is missing or contradictory, before any dial.
func (c Config) Validate() error {
	if c.Socket == "" && c.Host == "" {
		return fmt.Errorf("server %s: needs a host or a socket", c.label())
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("server %s: port %d is out of range", c.label(), c.Port)
	}
	if c.ReplicationPort < 0 || c.ReplicationPort > 65535 {
		return fmt.Errorf("server %s: replication_port %d is out of range", c.label(), c.ReplicationPort)
	}
	if c.User == "" {
		return fmt.Errorf("server %s: no user to log in as (set user in the deployment or the server's options)", c.label())
	}
	switch c.TLS.Mode {
	case "", TLSDisabled, TLSPreferred, TLSRequired, TLSVerify:
	default:
		return fmt.Errorf("server %s: tls %q: want disabled, preferred, required or verify", c.label(), c.TLS.Mode)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return fmt.Errorf("server %s: tls needs both cert and key, or neither", c.label())
	}
	return nil
}

func (c Config) connectTimeout() time.Duration {
	if c.ConnectTimeout > 0 {
		return c.ConnectTimeout
	}
	return DefaultConnectTimeout
}

func (c Config) label() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Address()
}

// driverConfig turns Config into the driver's. Placeholders are
// interpolated on the client: every statement then travels in the text
// protocol in one round trip, including ones the server refuses to prepare
// (CHANGE MASTER, SHOW ...). The driver escapes according to the server's
// NO_BACKSLASH_ESCAPES status flag.
func (c Config) driverConfig() (*gosql.Config, error) {
	dc := gosql.NewConfig()
	dc.User = c.User
	dc.Passwd = c.Password.Reveal()
	if c.Socket != "" {
		dc.Net, dc.Addr = "unix", c.Socket
	} else {
		dc.Net, dc.Addr = "tcp", c.Address()
	}
	dc.Timeout = c.connectTimeout()
	dc.InterpolateParams = true
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		dc.TLS = tc
	}
	if c.TLS.Mode == TLSPreferred {
		dc.AllowFallbackToPlaintext = true
	}
	return dc, nil
}

// ClientTLS is the tls.Config a connection to this server uses, nil when
// TLS is off; preferred is true when plain text is an acceptable fallback
// (mode "preferred"). For clients other than the SQL driver, such as the
// binary log stream.
func (c Config) ClientTLS() (tc *tls.Config, preferred bool, err error) {
	tc, err = c.tlsConfig()
	return tc, c.TLS.Mode == TLSPreferred, err
}

func (c Config) tlsConfig() (*tls.Config, error) {
	mode := c.TLS.Mode
	if mode == "" && c.TLS.CA != "" {
		mode = TLSVerify
	}
	switch mode {
	case "", TLSDisabled:
		return nil, nil
	case TLSPreferred, TLSRequired:
		// Encrypted but unverified, as the mysql client's --ssl-mode=REQUIRED.
		tc := &tls.Config{InsecureSkipVerify: true}
		return tc, c.addClientCert(tc)
	}
	tc := &tls.Config{ServerName: c.TLS.ServerName}
	if tc.ServerName == "" {
		tc.ServerName = c.Host
	}
	if c.TLS.CA != "" {
		pem, err := os.ReadFile(c.TLS.CA)
		if err != nil {
			return nil, fmt.Errorf("server %s: tls ca: %w", c.label(), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("server %s: tls ca %s: no PEM certificate found", c.label(), c.TLS.CA)
		}
		tc.RootCAs = pool
	}
	return tc, c.addClientCert(tc)
}

// verifiedAgainst says what a server certificate is checked against in
// verify mode, for error messages: "ca /etc/ssl/ca.pem, name db1.example".
func (t TLSConfig) verifiedAgainst(host string) string {
	ca := "the system's CAs"
	if t.CA != "" {
		ca = "ca " + t.CA
	}
	name := t.ServerName
	if name == "" {
		name = host
	}
	return ca + ", name " + name
}

func (c Config) addClientCert(tc *tls.Config) error {
	if c.TLS.Cert == "" {
		return nil
	}
	pair, err := tls.LoadX509KeyPair(c.TLS.Cert, c.TLS.Key)
	if err != nil {
		return fmt.Errorf("server %s: tls client certificate: %w", c.label(), err)
	}
	tc.Certificates = []tls.Certificate{pair}
	return nil
}
