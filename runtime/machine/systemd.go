package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// SystemdOptions describes a server run by systemd.
type SystemdOptions struct {
	Service string // the unit: "mariadb", "mariadb@db2"
	Host    Host   // where systemctl runs; nil means this computer
	Ready   Ready  // optional: checked after systemctl start returns

	// Default bounds when the context has none. systemctl start itself
	// waits for the unit (MariaDB's is Type=notify: started means ready).
	StartTimeout time.Duration // default DefaultStartTimeout
	StopTimeout  time.Duration // default DefaultStopGrace

	Systemctl  string // default "systemctl"
	Journalctl string // default "journalctl"
}

// Systemd is a Machine whose server systemd starts and stops.
type Systemd struct {
	o    SystemdOptions
	host Host
}

// NewSystemd checks o and returns the Machine.
func NewSystemd(o SystemdOptions) (*Systemd, error) {
	if err := checkService(o.Service); err != nil {
		return nil, err
	}
	if o.Host == nil {
		o.Host = Local()
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopGrace
	}
	if o.Systemctl == "" {
		o.Systemctl = "systemctl"
	}
	if o.Journalctl == "" {
		o.Journalctl = "journalctl"
	}
	return &Systemd{o: o, host: o.Host}, nil
}

// checkService refuses names systemctl could read as an option, or that
// are not one unit.
func checkService(s string) error {
	if s == "" {
		return errors.New("systemd: empty service name")
	}
	if s[0] == '-' || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '/' }) {
		return fmt.Errorf("systemd: service %q: not a unit name", s)
	}
	return nil
}

func (m *Systemd) String() string {
	if _, ok := m.host.(localHost); ok {
		return "systemd " + m.o.Service
	}
	return fmt.Sprintf("%s (systemd %s)", m.host, m.o.Service)
}

// systemctl runs one verb on the unit. --no-ask-password: a missing
// privilege must fail now, not wait for a password nobody will type.
func (m *Systemd) systemctl(ctx context.Context, verb string) ([]byte, error) {
	return m.host.Run(ctx, []string{m.o.Systemctl, "--no-ask-password", verb, m.o.Service})
}

// Start runs systemctl start, then waits for Ready when there is one.
func (m *Systemd) Start(ctx context.Context) error {
	return m.startVerb(ctx, "start")
}

// Restart runs systemctl restart, then waits for Ready when there is one.
func (m *Systemd) Restart(ctx context.Context) error {
	return m.startVerb(ctx, "restart")
}

func (m *Systemd) startVerb(ctx context.Context, verb string) error {
	ctx, cancel := withDefaultTimeout(ctx, m.o.StartTimeout)
	defer cancel()
	if _, err := m.systemctl(ctx, verb); err != nil {
		return fmt.Errorf("%s: %s: %w%s", m, verb, err, m.journal(ctx))
	}
	if m.o.Ready == nil {
		return nil
	}
	if err := pollReady(ctx, m.o.Ready, nil); err != nil {
		return fmt.Errorf("%s: %s: systemd started it, but %w%s", m, verb, err, m.journal(ctx))
	}
	return nil
}

// journal is the end of the unit's journal, for an error: why a start
// failed is there, not in systemctl's "see journalctl -xeu" line. It is
// best effort: a reader without the right to the journal gets a note.
func (m *Systemd) journal(ctx context.Context) string {
	ctx, cancel := cleanupContext(ctx, 10*time.Second)
	defer cancel()
	argv := []string{m.o.Journalctl, "-u", m.o.Service, "-n", "20", "--no-pager"}
	out, err := m.host.Run(ctx, argv)
	if err != nil {
		return fmt.Sprintf("\n(could not read the journal: %v)", err)
	}
	text := strings.TrimSpace(string(out))
	if text == "" {
		return ""
	}
	return fmt.Sprintf("\n%s:\n%s", QuoteCommand(argv), text)
}

// Stop runs systemctl stop, which returns once the unit's processes are
// gone.
func (m *Systemd) Stop(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, m.o.StopTimeout)
	defer cancel()
	if _, err := m.systemctl(ctx, "stop"); err != nil {
		return fmt.Errorf("%s: stop: %w", m, err)
	}
	return nil
}

// Kill fences the server: systemctl kill --signal=SIGKILL sends SIGKILL
// to every process of the unit at once. Stop would not fence a hung
// server: right after its SIGTERM systemd sends SIGCONT, "to ensure that
// even suspended tasks can be terminated cleanly" (systemd.kill(5)),
// which wakes a stopped server to shut down by itself, and MariaDB's own
// unit has SendSIGKILL=no with TimeoutStopSec=900, so one hung on its
// disk is waited for 15 minutes and then left running. systemctl stop
// follows the kill so that systemd does not start it again (that unit
// has Restart=on-abnormal, RestartSec=5s, and a SIGKILL is abnormal),
// and is-active confirms the unit is down.
func (m *Systemd) Kill(ctx context.Context) error {
	ctx, cancel := withDefaultTimeout(ctx, m.o.StopTimeout)
	defer cancel()
	argv := []string{m.o.Systemctl, "--no-ask-password", "kill", "--signal=SIGKILL", m.o.Service}
	if _, err := m.host.Run(ctx, argv); err != nil {
		return fmt.Errorf("%s: kill: %w", m, err)
	}
	if _, err := m.systemctl(ctx, "stop"); err != nil {
		return fmt.Errorf("%s: kill: stop after SIGKILL (so that systemd does not restart it): %w", m, err)
	}
	running, err := m.Running(ctx)
	if err != nil {
		return fmt.Errorf("%s: kill: %w", m, err)
	}
	if running {
		return fmt.Errorf("%s: kill: the unit is still active after SIGKILL and stop", m)
	}
	return nil
}

// Running asks systemctl is-active. It exits non-zero for every state but
// active, so the state it prints decides; anything else (no systemd, no
// rights, no connection) is an error.
func (m *Systemd) Running(ctx context.Context) (bool, error) {
	out, err := m.systemctl(ctx, "is-active")
	state := strings.TrimSpace(string(out))
	switch state {
	case "active", "reloading", "activating", "deactivating", "refreshing":
		// Some process of the unit is up, ready or not.
		return true, nil
	case "inactive", "failed":
		return false, nil
	}
	if err == nil {
		return false, fmt.Errorf("%s: is-active: unexpected state %q", m, state)
	}
	if state != "" {
		return false, fmt.Errorf("%s: is-active: state %q: %w", m, state, err)
	}
	return false, fmt.Errorf("%s: is-active: %w", m, err)
}

func (m *Systemd) Run(ctx context.Context, argv []string) ([]byte, error) {
	out, err := m.host.Run(ctx, argv)
	if err != nil {
		return out, fmt.Errorf("%s: run: %w", m, err)
	}
	return out, nil
}

func (m *Systemd) RunStream(ctx context.Context, argv []string, stdin io.Reader, stdout io.Writer) error {
	if err := m.host.RunStream(ctx, argv, stdin, stdout); err != nil {
		return fmt.Errorf("%s: run: %w", m, err)
	}
	return nil
}

func (m *Systemd) ReadFile(ctx context.Context, path string) ([]byte, error) {
	b, err := m.host.ReadFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%s: read file: %w", m, err)
	}
	return b, nil
}

func (m *Systemd) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	if err := m.host.WriteFile(ctx, path, data, mode); err != nil {
		return fmt.Errorf("%s: write file: %w", m, err)
	}
	return nil
}
