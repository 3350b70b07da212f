package machine

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Kinds of machine.
const (
	// KindProcess is a mariadbd that replicant-lua starts itself with
	// --defaults-file and stops by its pid (the sandbox's servers).
	KindProcess = "process"
	// KindSystemd is a server run by a systemd service.
	KindSystemd = "systemd"
)

// Spec is a machine as a deployment file describes it; each field's key
// is in its comment. Either host may run either kind:
//
//	machine = { defaults_file = "/srv/db1/my.cnf" }                -- a process here
//	machine = { service = "mariadb@db2" }                          -- systemd here
//	machine = { ssh = "ops@10.0.0.1", port = 22, identity = "~/.ssh/id", service = "mariadb" }
//	machine = { ssh = "ops@10.0.0.3", defaults_file = "/srv/db3/my.cnf" }
type Spec struct {
	Kind string // kind: KindProcess or KindSystemd; "" infers it from service or defaults_file

	// The remote host, when SSH is set; this computer otherwise.
	SSH            string        // ssh: "user@host", "host" or an ssh config alias
	Port           int           // port: the ssh port
	Identity       string        // identity: private key file (ssh -i)
	SSHConfig      string        // ssh_config: ssh -F
	SSHOptions     []string      // ssh_options: ssh -o values
	ConnectTimeout time.Duration // connect_timeout

	Service string // service: the systemd unit

	DefaultsFile string   // defaults_file: the option file of a process
	Binary       string   // binary
	Args         []string // args
	PidFile      string   // pid_file
	ErrorLog     string   // error_log
	ConsoleLog   string   // console_log

	StartTimeout time.Duration // start_timeout
	StopTimeout  time.Duration // stop_timeout: SIGTERM to SIGKILL, or systemctl stop's bound

	// Ready is not read from a file: the caller, who can connect to the
	// server, sets it.
	Ready Ready
}

// processKeys are the keys that only a process machine has, in the order
// errors check them.
var processKeys = []string{"defaults_file", "binary", "args", "pid_file", "error_log", "console_log"}

// sshKeys only make sense with ssh.
var sshKeys = []string{"port", "identity", "ssh_config", "ssh_options", "connect_timeout"}

// set reports whether the field of key has a value.
func (s *Spec) set(key string) bool {
	switch key {
	case "defaults_file":
		return s.DefaultsFile != ""
	case "binary":
		return s.Binary != ""
	case "args":
		return len(s.Args) > 0
	case "pid_file":
		return s.PidFile != ""
	case "error_log":
		return s.ErrorLog != ""
	case "console_log":
		return s.ConsoleLog != ""
	case "port":
		return s.Port != 0
	case "identity":
		return s.Identity != ""
	case "ssh_config":
		return s.SSHConfig != ""
	case "ssh_options":
		return len(s.SSHOptions) > 0
	case "connect_timeout":
		return s.ConnectTimeout != 0
	}
	return false
}

// kind is the machine's kind, given or inferred.
func (s *Spec) kind() (string, error) {
	switch s.Kind {
	case KindProcess, KindSystemd:
		return s.Kind, nil
	case "":
	default:
		return "", fmt.Errorf(`machine: key "kind": %q: want %q (a mariadbd we start, here or over ssh) or %q`, s.Kind, KindProcess, KindSystemd)
	}
	switch {
	case s.Service != "" && s.DefaultsFile != "":
		return "", errors.New(`machine: keys "service" and "defaults_file": a machine is a systemd service or a process we start, not both`)
	case s.Service != "":
		return KindSystemd, nil
	case s.DefaultsFile != "":
		return KindProcess, nil
	}
	return "", errors.New(`machine: needs "service" (a systemd unit) or "defaults_file" (the option file of a mariadbd we start)`)
}

// Validate checks the spec; its errors name the key at fault.
func (s *Spec) Validate() error {
	kind, err := s.kind()
	if err != nil {
		return err
	}
	if err := s.validateKind(kind); err != nil {
		return err
	}
	if s.SSH == "" {
		for _, k := range sshKeys {
			if s.set(k) {
				return fmt.Errorf("machine: key %q: only with ssh", k)
			}
		}
	} else if err := checkDestination(s.SSH); err != nil {
		return fmt.Errorf(`machine: key "ssh": %w`, err)
	}
	if s.Port < 0 || s.Port > 65535 {
		return fmt.Errorf(`machine: key "port": %d: want 1-65535`, s.Port)
	}
	durations := []struct {
		key string
		d   time.Duration
	}{{"connect_timeout", s.ConnectTimeout}, {"start_timeout", s.StartTimeout}, {"stop_timeout", s.StopTimeout}}
	for _, x := range durations {
		if x.d < 0 {
			return fmt.Errorf("machine: key %q: %s: want a positive duration", x.key, x.d)
		}
	}
	return nil
}

func (s *Spec) validateKind(kind string) error {
	if kind == KindSystemd {
		for _, k := range processKeys {
			if s.set(k) {
				return fmt.Errorf("machine: key %q: only for kind %q (this one is %q)", k, KindProcess, KindSystemd)
			}
		}
		if err := checkService(s.Service); err != nil {
			return fmt.Errorf(`machine: key "service": %w`, err)
		}
		return nil
	}
	if s.Service != "" {
		return fmt.Errorf("machine: key %q: only for kind %q (this one is %q)", "service", KindSystemd, KindProcess)
	}
	if s.DefaultsFile == "" {
		return fmt.Errorf(`machine: key "defaults_file": required for kind %q`, KindProcess)
	}
	if s.SSH != "" && !filepath.IsAbs(s.DefaultsFile) {
		return fmt.Errorf(`machine: key "defaults_file": %s: want an absolute path on the remote host`, s.DefaultsFile)
	}
	return nil
}

// New returns the Machine the spec describes. A process machine built here
// is detached: a deployment's servers outlive the replicant-lua run that
// started them.
func New(s Spec) (Machine, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	kind, _ := s.kind()
	host, err := s.host()
	if err != nil {
		return nil, err
	}
	if kind == KindSystemd {
		return NewSystemd(SystemdOptions{
			Service: s.Service, Host: host, Ready: s.Ready,
			StartTimeout: s.StartTimeout, StopTimeout: s.StopTimeout,
		})
	}
	return NewProcess(ProcessOptions{
		DefaultsFile: s.DefaultsFile, Binary: s.Binary, Args: s.Args,
		PidFile: s.PidFile, ErrorLog: s.ErrorLog, ConsoleLog: s.ConsoleLog,
		Host: host, Detach: true, Ready: s.Ready,
		StartTimeout: s.StartTimeout, StopGrace: s.StopTimeout,
	})
}

func (s *Spec) host() (Host, error) {
	if s.SSH == "" {
		return Local(), nil
	}
	h, err := NewSSH(SSHOptions{
		Destination: s.SSH, Port: s.Port, Identity: s.Identity, ConfigFile: s.SSHConfig,
		Options: s.SSHOptions, ConnectTimeout: s.ConnectTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("machine: %w", err)
	}
	return h, nil
}
