// Package deploy describes a deployment: the servers an operator manages
// and the credentials used to reach them. Deployment files are Lua; the
// bindings package reads them and fills these types.
package deploy

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Credentials is a user name and its password.
type Credentials struct {
	Name     string
	Password server.Secret
}

// Promotion rules, from most to least wanted as a new primary.
const (
	PromotionPrefer    = "prefer"
	PromotionNeutral   = "neutral"
	PromotionPreferNot = "prefer_not"
	PromotionMustNot   = "must_not"
)

// ValidPromotion reports whether p is one of the promotion rules.
func ValidPromotion(p string) bool {
	switch p {
	case PromotionPrefer, PromotionNeutral, PromotionPreferNot, PromotionMustNot:
		return true
	}
	return false
}

// Server is one server of the deployment as the file describes it.
type Server struct {
	Name   string
	Host   string
	Port   int
	Socket string
	// ReplicationHost and ReplicationPort are the address replicas use to
	// reach it when it differs from Host and Port (replication_host,
	// replication_port): procedures point replicas there, and discovery
	// takes a replica whose source is that address for this server.
	ReplicationHost string
	ReplicationPort int
	Promotion       string // one of the Promotion* rules; "" means neutral
	TLS             server.TLSConfig
	User            *Credentials // overrides the deployment's user for this server

	// Machine says how the server is started and stopped and its files
	// reached; nil when the deployment does not say.
	Machine *machine.Spec
	// OptionFile is the server's option file on its machine (default: the
	// machine's defaults_file).
	OptionFile string
	// Role is what `imbue` makes of it: "master", "final", "relay" or "";
	// RoleSource names the master of a final or relay.
	Role, RoleSource string
	ServerID         int // server-id roles write; 0 keeps it
}

// Deployment is a set of named servers and the credentials to reach them.
type Deployment struct {
	Path     string // the file it was read from, for messages
	User     Credentials
	ReplUser Credentials
	TLS      server.TLSConfig // default for every server
	// ReplCA, when set, is the CA file (on each replica's host) that every
	// replication connection the tool sets up is verified against: TLS on,
	// the source's certificate checked against it and its host name.
	ReplCA         string
	ConnectTimeout time.Duration
	// ReplConnectRetry and ReplHeartbeat are the deployment's replication
	// settings (replication = { connect_retry =, heartbeat = }): every
	// replication connection the tool sets up gets them unless the call
	// says otherwise, so that a replica made by a clone, a failover or a
	// demoted primary reconnects and sends heartbeats as the others do.
	// 0 leaves the server's default (60 s and 30 s on MariaDB).
	ReplConnectRetry time.Duration
	ReplHeartbeat    time.Duration
	// Proxies route the clients' writes: the procedures move them to the
	// new primary (proxies = { { kind = "haproxy", ... } }).
	Proxies []Proxy
	Servers map[string]Server
	// Cluster names the cluster in a coordinator shared by several
	// deployments and hosts (cluster = "shop"): its lock and its watch
	// leadership are keyed by it. Required with a coordinator.
	Cluster string
	// Coordinator is the etcd cluster that several operator hosts agree
	// through (coordinator = { etcd = { ... } }); nil: this host alone,
	// the procedure lock on the servers themselves.
	Coordinator *Coordinator
}

// Coordinator is where the etcd cluster is and how to talk to it.
type Coordinator struct {
	Endpoints     []string // host:port of each member
	CA, Cert, Key string   // TLS files; no CA: plain text
	Prefix        string   // of every key ("/replicant/" when empty)
	TTL           time.Duration
}

// Proxy is one proxy in front of the cluster. For HAProxy: the admin
// socket of its runtime API, the backend the writers use, and the name
// each deployment server has in that backend.
type Proxy struct {
	Kind    string            // "haproxy"
	Socket  string            // the admin socket's path
	Backend string            // the backend that takes the writes
	Servers map[string]string // deployment name → server name in the backend
}

// Names lists the servers in a stable order: by name.
func (d *Deployment) Names() []string {
	names := make([]string, 0, len(d.Servers))
	for n := range d.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ServerConfig is how to connect to the named server.
func (d *Deployment) ServerConfig(name string) (server.Config, error) {
	s, ok := d.Servers[name]
	if !ok {
		return server.Config{}, fmt.Errorf("%s: no server named %q (have: %v)", d.Path, name, d.Names())
	}
	cfg := server.Config{
		Name:           name,
		Host:           s.Host,
		Port:           s.Port,
		Socket:         s.Socket,
		User:           d.User.Name,
		Password:       d.User.Password,
		TLS:            d.TLS,
		ConnectTimeout: d.ConnectTimeout,

		ReplicationHost: s.ReplicationHost,
		ReplicationPort: s.ReplicationPort,
	}
	if s.User != nil {
		cfg.User, cfg.Password = s.User.Name, s.User.Password
	}
	if s.TLS != (server.TLSConfig{}) {
		cfg.TLS = s.TLS
	}
	return cfg, nil
}

// Validate checks what a file cannot express by its shape alone.
func (d *Deployment) Validate() error {
	if len(d.Servers) == 0 {
		return fmt.Errorf("%s: no servers", d.Path)
	}
	for _, name := range d.Names() {
		s := d.Servers[name]
		if s.Host == "" && s.Socket == "" {
			return fmt.Errorf("%s: server %s: needs host or socket", d.Path, name)
		}
		if s.Promotion != "" && !ValidPromotion(s.Promotion) {
			return fmt.Errorf("%s: server %s: promotion %q: want prefer, neutral, prefer_not or must_not", d.Path, name, s.Promotion)
		}
		if s.Socket != "" && s.Host == "" && s.ReplicationHost == "" && s.ReplicationPort != 0 {
			return fmt.Errorf("%s: server %s: replication_port needs replication_host: the server is reached over a socket", d.Path, name)
		}
		if d.User.Name == "" && s.User == nil {
			return fmt.Errorf("%s: server %s: no user (set user = { name = ..., password = ... })", d.Path, name)
		}
	}
	if err := d.validateReplicationAddresses(); err != nil {
		return err
	}
	for i, p := range d.Proxies {
		for name := range p.Servers {
			if _, ok := d.Servers[name]; !ok {
				return fmt.Errorf("%s: proxies[%d]: servers: no server named %q (have: %v)", d.Path, i+1, name, d.Names())
			}
		}
	}
	return nil
}

// validateReplicationAddresses refuses two servers that replicas would
// reach at one address: discovery would take one for the other.
func (d *Deployment) validateReplicationAddresses() error {
	owner := map[string]string{}
	for _, name := range d.Names() {
		s := d.Servers[name]
		if s.Host == "" && s.ReplicationHost == "" {
			continue
		}
		host, port := s.Host, s.Port
		if s.ReplicationHost != "" || s.ReplicationPort != 0 {
			cfg := server.Config{Host: s.Host, Port: s.Port, ReplicationHost: s.ReplicationHost, ReplicationPort: s.ReplicationPort}
			host, port = cfg.ReplicationAddress()
		}
		key := strings.ToLower(net.JoinHostPort(host, strconv.Itoa(port)))
		if other, ok := owner[key]; ok {
			return fmt.Errorf("%s: servers %s and %s: replicas would reach both at %s (give each its own replication_host/replication_port)", d.Path, other, name, key)
		}
		owner[key] = name
	}
	return nil
}
