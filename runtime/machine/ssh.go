package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SSHOptions says how to reach a remote host with the system's ssh
// client. Only keys and the agent authenticate: ssh runs with
// BatchMode=yes, so it never asks for a password, and there is no way to
// pass one.
type SSHOptions struct {
	Destination    string        // "ops@10.0.0.1", "10.0.0.1", or a Host alias of the ssh config
	Port           int           // -p; 0 leaves it to ssh (config or 22)
	Identity       string        // -i private key file; a leading "~/" is the local home
	ConfigFile     string        // -F; "" reads ~/.ssh/config as ssh always does
	Options        []string      // extra -o values ("StrictHostKeyChecking=yes")
	ConnectTimeout time.Duration // ssh's ConnectTimeout; default DefaultConnectTimeout
	Binary         string        // the ssh client; default "ssh"
}

// SSH is a remote Host reached through the ssh client. Each call is one
// ssh connection (an operator's ControlMaster config makes them cheap). The
// remote login shell must be a POSIX shell (sh, bash, dash, zsh): commands
// are sent as one line quoted for it.
type SSH struct {
	o SSHOptions
}

// NewSSH checks o and returns the Host.
func NewSSH(o SSHOptions) (*SSH, error) {
	if err := checkDestination(o.Destination); err != nil {
		return nil, err
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("ssh %s: port %d: want 1-65535", o.Destination, o.Port)
	}
	for _, opt := range o.Options {
		if k, _, ok := strings.Cut(opt, "="); !ok || k == "" || strings.ContainsAny(k, " \t-") {
			return nil, fmt.Errorf("ssh %s: option %q: want Key=Value, as for ssh -o", o.Destination, opt)
		}
	}
	if strings.HasPrefix(o.Identity, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("ssh %s: identity %s: %w", o.Destination, o.Identity, err)
		}
		o.Identity = filepath.Join(home, o.Identity[2:])
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Binary == "" {
		o.Binary = "ssh"
	}
	return &SSH{o: o}, nil
}

// checkDestination refuses what ssh could take for an option ("-oProxyCommand=…")
// or what cannot be a user@host.
func checkDestination(d string) error {
	if d == "" {
		return errors.New("ssh: empty destination")
	}
	if d[0] == '-' || strings.ContainsFunc(d, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("ssh: destination %q: want user@host or host", d)
	}
	return nil
}

func (s *SSH) String() string {
	if s.o.Port != 0 {
		return fmt.Sprintf("ssh -p %d %s", s.o.Port, s.o.Destination)
	}
	return "ssh " + s.o.Destination
}

// argv is the local ssh command that runs remote, a line for the remote
// login shell; extra are more -o values, after the operator's. "--"
// before the destination ends ssh's options for good: nothing after it is
// read as one.
func (s *SSH) argv(remote string, extra ...string) []string {
	secs := int(math.Ceil(s.o.ConnectTimeout.Seconds()))
	argv := []string{s.o.Binary, "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=" + strconv.Itoa(secs)}
	if s.o.ConfigFile != "" {
		argv = append(argv, "-F", s.o.ConfigFile)
	}
	if s.o.Port != 0 {
		argv = append(argv, "-p", strconv.Itoa(s.o.Port))
	}
	if s.o.Identity != "" {
		argv = append(argv, "-i", s.o.Identity)
	}
	for _, opt := range append(slices.Clip(s.o.Options), extra...) {
		argv = append(argv, "-o", opt)
	}
	return append(argv, "--", s.o.Destination, remote)
}

// streamOptions make ssh give up on a peer that stopped answering (a
// host gone, a network cut) within about a minute: a stream has no
// timeout of its own, and TCP alone may wait for hours. ssh keeps the
// first value it reads for an option: the operator's -o (SSHOptions)
// come first and win; these win over the ssh config file.
var streamOptions = []string{"ServerAliveInterval=15", "ServerAliveCountMax=4"}

// Run runs argv on the remote host; its standard error comes back in the
// error, and ssh's own (connection refused, host key) as well.
func (s *SSH) Run(ctx context.Context, argv []string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	return command{argv: s.argv(QuoteCommand(argv)), display: argv, via: "ssh"}.run(ctx)
}

// RunStream runs argv on the remote host with ssh's standard input and
// output connected to stdin and stdout; ssh passes bytes through as they
// are (-T: no terminal to translate them).
func (s *SSH) RunStream(ctx context.Context, argv []string, stdin io.Reader, stdout io.Writer) error {
	if len(argv) == 0 {
		return errors.New("empty command")
	}
	return command{argv: s.argv(QuoteCommand(argv), streamOptions...), display: argv, via: "ssh"}.stream(ctx, stdin, stdout)
}

// script runs a POSIX sh script remotely, whatever the login shell, with
// stdin as its standard input; shown is what errors call it.
func (s *SSH) script(ctx context.Context, shown []string, script string, stdin []byte) ([]byte, error) {
	remote := QuoteCommand([]string{"sh", "-c", script})
	return command{argv: s.argv(remote), display: shown, via: "ssh", stdin: stdin}.run(ctx)
}

// notFoundCode is the exit code of ReadFile's script for a missing file:
// cat itself exits 1 for every failure.
const notFoundCode = 44

func (s *SSH) ReadFile(ctx context.Context, path string) ([]byte, error) {
	q := Quote(path)
	script := fmt.Sprintf("test -e %s || exit %d; exec cat -- %s", q, notFoundCode, q)
	out, err := s.script(ctx, []string{"cat", "--", path}, script, nil)
	if ce, ok := errors.AsType[*CommandError](err); ok && ce.ExitCode == notFoundCode {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fs.ErrNotExist}
	}
	return out, err
}

// WriteFile sends data on ssh's standard input into a temporary file next
// to path, then renames it over path (mv within a directory is a rename,
// atomic). The temporary file is removed if anything fails; chown
// --reference keeps the owner where GNU coreutils and the rights allow.
func (s *SSH) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	script := fmt.Sprintf(`set -e
p=%s
t=$(mktemp "$p.XXXXXX")
trap 'rm -f "$t"' EXIT
cat > "$t"
chmod %04o "$t"
if [ -e "$p" ]; then chown --reference="$p" "$t" 2>/dev/null || true; fi
mv -f "$t" "$p"
`, Quote(path), mode.Perm())
	if data == nil {
		data = []byte{} // an empty stdin, not ssh's own
	}
	_, err := s.script(ctx, []string{"write", path}, script, data)
	return err
}
