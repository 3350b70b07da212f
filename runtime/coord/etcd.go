// Package coord keeps what several operator hosts must agree on in etcd:
// the procedure lock of each cluster, which watcher leads it, and the
// last failover with its anti-flap block. etcd's Raft makes each of
// these one decision for the whole fleet; this package only lays out
// the keys (see docs/COORDINATION.md) and keeps the leases alive.
//
// Every read that a decision rests on is linearizable: without a quorum
// of etcd members it fails, and the caller stops acting.
package coord

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// Config says how to reach etcd.
type Config struct {
	Endpoints []string // host:port of each member
	// TLS: CA verifies the members' certificates; Cert and Key, when
	// given, are the client certificate a member started with
	// --client-cert-auth asks for. No CA: plain text.
	CA, Cert, Key string
	// Prefix starts every key ("/replicant/" when empty).
	Prefix string
	// TTL is the lease of a lock or a leadership: how long it outlives a
	// holder that stopped renewing it (DefaultTTL when 0).
	TTL time.Duration
	// DialTimeout bounds the first connection (DefaultDialTimeout when 0).
	DialTimeout time.Duration
}

const (
	DefaultPrefix      = "/replicant/"
	DefaultTTL         = 5 * time.Second
	DefaultDialTimeout = 3 * time.Second
	// requestTimeout bounds each read or write: a member that lost its
	// quorum answers nothing, and the caller must learn it in time.
	requestTimeout = 2 * time.Second
)

// ParseURL reads --coordinator's value: etcd://host:port[,host:port...].
func ParseURL(s string) (Config, error) {
	rest, ok := strings.CutPrefix(s, "etcd://")
	if !ok {
		return Config{}, fmt.Errorf("coordinator %q: want etcd://host:port[,host:port...]", s)
	}
	var c Config
	for _, ep := range strings.Split(rest, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(ep))
		if err != nil || host == "" {
			return Config{}, fmt.Errorf("coordinator %q: endpoint %q: want host:port", s, ep)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return Config{}, fmt.Errorf("coordinator %q: endpoint %q: bad port", s, ep)
		}
		c.Endpoints = append(c.Endpoints, net.JoinHostPort(host, port))
	}
	return c, nil
}

// Etcd is a connection to the etcd cluster.
type Etcd struct {
	cli    *clientv3.Client
	prefix string
	ttl    time.Duration
	eps    []string

	mu      sync.Mutex
	session *concurrency.Session // the campaigns' lease (shared)
	checked time.Time            // the last quorum check, and its answer
	quorum  error
}

// Open connects to etcd and checks that it has a quorum (a linearizable
// read answers); it fails naming the endpoints otherwise.
func Open(ctx context.Context, c Config) (*Etcd, error) {
	if len(c.Endpoints) == 0 {
		return nil, errors.New("coordinator: no etcd endpoint")
	}
	e := &Etcd{prefix: c.Prefix, ttl: c.TTL, eps: c.Endpoints}
	if e.prefix == "" {
		e.prefix = DefaultPrefix
	}
	if !strings.HasSuffix(e.prefix, "/") {
		e.prefix += "/"
	}
	if e.ttl == 0 {
		e.ttl = DefaultTTL
	}
	if e.ttl < time.Second {
		return nil, fmt.Errorf("coordinator: ttl %s: etcd leases count whole seconds, at least 1s", e.ttl)
	}
	dial := c.DialTimeout
	if dial == 0 {
		dial = DefaultDialTimeout
	}
	cfg := clientv3.Config{Endpoints: c.Endpoints, DialTimeout: dial, Logger: zap.NewNop(),
		DialKeepAliveTime: time.Second, DialKeepAliveTimeout: time.Second}
	if c.CA != "" || c.Cert != "" {
		tc, err := tlsConfig(c)
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("coordinator etcd %s: %w", e.where(), err)
	}
	e.cli = cli
	if err := e.Healthy(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	return e, nil
}

func tlsConfig(c Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("coordinator: tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("coordinator: tls ca %s: no PEM certificate in it", c.CA)
		}
		tc.RootCAs = pool
	}
	if (c.Cert == "") != (c.Key == "") {
		return nil, errors.New("coordinator: tls: cert and key go together")
	}
	if c.Cert != "" {
		pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("coordinator: tls client certificate %s: %w", c.Cert, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

func (e *Etcd) where() string { return strings.Join(e.eps, ",") }

// Close ends the connection; leases it holds expire with their TTL unless
// released first.
func (e *Etcd) Close() error {
	e.mu.Lock()
	s := e.session
	e.session = nil
	e.mu.Unlock()
	if s != nil {
		e.closeSession(s)
	}
	return e.cli.Close()
}

// shared is the session of every campaign on this connection, made anew
// when its lease is gone.
func (e *Etcd) shared(ctx context.Context) (*concurrency.Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session != nil {
		select {
		case <-e.session.Done():
			e.session = nil
		default:
			return e.session, nil
		}
	}
	s, err := e.newSession(ctx)
	if err != nil {
		return nil, err
	}
	// The process says it is there, with the same lease: Balance counts
	// the watchers alive.
	pctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	key := fmt.Sprintf("%swatchers/%x", e.prefix, s.Lease())
	if _, err := e.cli.Put(pctx, key, "", clientv3.WithLease(s.Lease())); err != nil {
		e.closeSession(s)
		return nil, e.noQuorum(err)
	}
	e.session = s
	return s, nil
}

// Quorum is Healthy at most once a second: what the status pages of
// many clusters share.
func (e *Etcd) Quorum(ctx context.Context) error {
	e.mu.Lock()
	if time.Since(e.checked) < time.Second {
		err := e.quorum
		e.mu.Unlock()
		return err
	}
	e.mu.Unlock()
	err := e.Healthy(ctx)
	e.mu.Lock()
	e.checked, e.quorum = time.Now(), err
	e.mu.Unlock()
	return err
}

// TTL is the lease of locks and leaderships.
func (e *Etcd) TTL() time.Duration { return e.ttl }

// ErrNoQuorum is what every call returns when etcd cannot decide: fewer
// than a majority of its members answer, or none is reachable.
var ErrNoQuorum = errors.New("etcd has no quorum (or cannot be reached)")

// Healthy makes a linearizable read, which only a quorum answers.
func (e *Etcd) Healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if _, err := e.cli.Get(ctx, e.prefix+"health", clientv3.WithCountOnly()); err != nil {
		return e.noQuorum(err)
	}
	return nil
}

func (e *Etcd) noQuorum(err error) error {
	return fmt.Errorf("coordinator etcd %s: %w: %v", e.where(), ErrNoQuorum, err)
}

// clusterKey is the key of one of a cluster's records.
func (e *Etcd) clusterKey(cluster, what string) string {
	return e.prefix + "clusters/" + cluster + "/" + what
}

// Holder says who holds a lock or leads a cluster: no secret, only what
// lets an operator find the process.
type Holder struct {
	Host  string    `json:"host"`
	Pid   int       `json:"pid"`
	What  string    `json:"what"` // "run switchover", "watch", ...
	RunID string    `json:"run_id,omitempty"`
	Since time.Time `json:"since"`
}

// Me is a Holder for this process.
func Me(what, runID string) Holder {
	host, _ := os.Hostname()
	return Holder{Host: host, Pid: os.Getpid(), What: what, RunID: runID, Since: time.Now().UTC()}
}

func (h Holder) String() string {
	s := fmt.Sprintf("%s (pid %d on %s, since %s", h.What, h.Pid, h.Host, h.Since.Format(time.RFC3339))
	if h.RunID != "" {
		s += ", run " + h.RunID
	}
	return s + ")"
}

func decodeHolder(b []byte) Holder {
	var h Holder
	if json.Unmarshal(b, &h) != nil {
		h.What = fmt.Sprintf("an unknown holder (%q)", b)
	}
	return h
}

// newSession grants a lease and keeps it alive until closed, or until
// etcd stops answering for its TTL.
func (e *Etcd) newSession(ctx context.Context) (*concurrency.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	// The grant is bound by ctx; the keep-alive runs on the client's own
	// context, until Close.
	lease, err := e.cli.Grant(ctx, int64(e.ttl/time.Second))
	if err != nil {
		return nil, e.noQuorum(err)
	}
	s, err := concurrency.NewSession(e.cli, concurrency.WithLease(lease.ID))
	if err != nil {
		return nil, e.noQuorum(err)
	}
	return s, nil
}

// closeSession stops a session's keep-alive and revokes its lease, which
// deletes its keys. Bounded like every request: without a quorum the
// lease cannot be revoked, and expires by itself within its TTL.
func (e *Etcd) closeSession(s *concurrency.Session) {
	s.Orphan()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	e.cli.Revoke(ctx, s.Lease())
}
