// Package sandbox starts a local replication topology of real MariaDB
// servers: one primary and its replicas on 127.0.0.1, each with its own
// datadir, option file, socket and tmpdir under one directory. It is the
// fixture of the integration tests and the target of the README's first
// command (`replicant-lua sandbox up`).
//
// Each server is an option file and a local machine (runtime/mycnf,
// runtime/machine), so `sandbox up` is: write option files, initialise
// datadirs, start. The directory holds everything needed to find the
// servers again from another process: sandbox.json (the state: pids,
// ports, paths), deployment.lua (for replicant-lua -d), dbN/my.cnf (each
// server's option file, which names its pid file) and secrets/*.pw
// (generated passwords, mode 0600), and with Options.TLS tls/*.pem (a
// throwaway CA and certificates). Down and Status work from the directory
// alone.
//
// Only MariaDB is supported for now: a MySQL mysqld is recognised and
// refused with a clear error (see FindBinary).
package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Role is the part the sandbox gave a server when it wired replication.
type Role string

const (
	RolePrimary Role = "primary"
	RoleReplica Role = "replica"
)

// Default values of Options.
const (
	DefaultDir      = "sandbox"
	DefaultServers  = 3
	DefaultUser     = "replicant"
	DefaultReplUser = "repl"
	AppUser         = "app"
	DefaultTimeout  = 60 * time.Second
)

// Names of the files inside a sandbox directory.
const (
	StateFile      = "sandbox.json"
	DeploymentFile = "deployment.lua"
	secretsDir     = "secrets"
)

// ErrNoSandbox is returned by Load, Down and Status when the directory holds
// no sandbox.json.
var ErrNoSandbox = errors.New("no sandbox here")

// Options of Up. The zero value starts three servers in ./sandbox on free
// ports.
type Options struct {
	Dir      string // default "./sandbox"; must not exist, or be empty
	Servers  int    // default 3: db1 is the primary, the others its replicas
	BasePort int    // first port; 0 picks free ports so parallel sandboxes never clash
	Binary   string // mariadbd to run; default: mariadbd or mysqld on PATH or in /usr/sbin

	// Template is a datadir made by PrepareTemplate, copied instead of
	// running mariadb-install-db (≈1.7 s) for every sandbox.
	Template string

	// Detach puts every server in a session of its own, so that it outlives
	// the calling process and a Ctrl-C in its terminal. The CLI sets it;
	// tests leave it off so that their servers stay children they reap.
	Detach bool

	User     string        // the tool's own account; default "replicant"
	ReplUser string        // the replication account; default "repl"
	Timeout  time.Duration // bound on each wait (ready, replicating); default 60s

	// WriteMachines gives each server of deployment.lua its machine,
	// machine = { defaults_file = ".../dbN/my.cnf", ... }, so that a
	// playbook can start, stop and reconfigure it. The CLI and sandboxtest
	// turn it on.
	WriteMachines bool

	// TLS makes a throwaway CA and certificates (see GenerateTLS) in
	// DIR/tls, gives every server ssl-ca/ssl-cert/ssl-key, and writes
	// deployment.lua with tls = { mode = "verify", ca = ... }, so that
	// every connection of the tool is verified TLS. Replicas connect to
	// the primary over verified TLS too (MASTER_SSL with the CA and
	// MASTER_SSL_VERIFY_SERVER_CERT).
	TLS bool

	// SemiSync turns on semi-synchronous replication in every server's
	// option file, both sides on every server so that a promoted replica
	// waits for acknowledgements and a demoted primary gives them: wait
	// point AFTER_SYNC (a commit is visible to no one before a replica has
	// it) and a 10 s timeout, so that a short test never falls back to
	// asynchronous replication unnoticed.
	SemiSync bool

	// ServerOptions are set in every server's [mysqld] group after the
	// sandbox's own, overriding them: {"gtid-strict-mode": "0"} gives
	// MariaDB's default, under which errant writes get buried.
	ServerOptions map[string]string
}

// Credential is an account and the file that holds its password. The
// password itself is only ever read from the file, on demand.
type Credential struct {
	Name         string `json:"name"`
	PasswordFile string `json:"password_file"`
}

// Password reads the secret file.
func (c Credential) Password() (string, error) {
	b, err := os.ReadFile(c.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("password of %s: %w", c.Name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// Instance is one server of the sandbox as recorded in sandbox.json.
type Instance struct {
	Name         string `json:"name"`
	Port         int    `json:"port"`
	Socket       string `json:"socket"`
	DataDir      string `json:"datadir"`
	TmpDir       string `json:"tmpdir"`
	DefaultsFile string `json:"defaults_file"`
	ErrorLog     string `json:"error_log"`
	Pid          int    `json:"pid"` // 0 once Down has stopped it
	ServerID     int    `json:"server_id"`
	Role         Role   `json:"role"`
	Binary       string `json:"binary"`
}

// Addr is host:port for TCP clients.
func (in Instance) Addr() string {
	return "127.0.0.1:" + strconv.Itoa(in.Port)
}

// String names the instance for messages: "db2 (127.0.0.1:23307)".
func (in Instance) String() string {
	return fmt.Sprintf("%s (%s)", in.Name, in.Addr())
}

// DSN is a go-sql-driver/mysql data source name for c over TCP. It holds
// the password: never print or log it.
func (in Instance) DSN(c Credential) (string, error) {
	pw, err := c.Password()
	if err != nil {
		return "", err
	}
	return in.tcpConfig(c.Name, pw).FormatDSN(), nil
}

func (in Instance) tcpConfig(user, password string) *gosql.Config {
	cfg := gosql.NewConfig()
	cfg.User, cfg.Passwd = user, password
	cfg.Net, cfg.Addr = "tcp", in.Addr()
	cfg.Timeout = 5 * time.Second
	return cfg
}

// Sandbox is a running (or recorded) set of servers; it is what
// sandbox.json holds.
type Sandbox struct {
	Dir            string     `json:"dir"`
	DeploymentPath string     `json:"deployment"`
	Binary         string     `json:"binary"`
	SocketDir      string     `json:"socket_dir,omitempty"` // set when sockets live outside Dir (path too long)
	User           Credential `json:"user"`
	ReplUser       Credential `json:"repl_user"`
	AppUser        Credential `json:"app_user"`
	Instances      []Instance `json:"instances"`
	TLS            *TLSFiles  `json:"tls,omitempty"` // nil: the servers speak plain TCP only

	// machines start and stop each instance's server (see Machine).
	machines map[string]*machine.Process
}

// Primary is the instance the sandbox made primary.
func (s *Sandbox) Primary() Instance {
	for _, in := range s.Instances {
		if in.Role == RolePrimary {
			return in
		}
	}
	return Instance{}
}

// Replicas are the instances the sandbox made replicas, in order.
func (s *Sandbox) Replicas() []Instance {
	var out []Instance
	for _, in := range s.Instances {
		if in.Role == RoleReplica {
			out = append(out, in)
		}
	}
	return out
}

// Instance finds an instance by name.
func (s *Sandbox) Instance(name string) (Instance, bool) {
	for _, in := range s.Instances {
		if in.Name == name {
			return in, true
		}
	}
	return Instance{}, false
}

// ServerConfig is how the tool's account reaches in over TCP, as
// deployment.lua says: with TLS verified against the sandbox's CA when it
// has one. It reads the password from its file.
func (s *Sandbox) ServerConfig(in Instance) (server.Config, error) {
	pw, err := s.User.Password()
	if err != nil {
		return server.Config{}, err
	}
	return s.serverConfig(in, pw), nil
}

func (s *Sandbox) serverConfig(in Instance, pw string) server.Config {
	cfg := server.Config{Name: in.Name, Host: "127.0.0.1", Port: in.Port, User: s.User.Name, Password: server.Secret(pw)}
	if s.TLS != nil {
		cfg.TLS = server.TLSConfig{Mode: server.TLSVerify, CA: s.TLS.CA}
	}
	return cfg
}

// Load reads dir/sandbox.json.
func Load(dir string) (*Sandbox, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(abs, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (no %s)", abs, ErrNoSandbox, StateFile)
	}
	if err != nil {
		return nil, err
	}
	var s Sandbox
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(abs, StateFile), err)
	}
	if err := s.initMachines(true, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(abs, StateFile), err)
	}
	return &s, nil
}

// save writes sandbox.json atomically, so that a reader never sees half a
// file and a crash leaves the previous state.
func (s *Sandbox) save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.Dir, StateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
