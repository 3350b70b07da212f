package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// streamFormats are the backup tool's --stream format and the program
// that extracts it, per product: mariadb-backup writes mbstream (MariaDB's
// xbstream), XtraBackup xbstream. The extractor ships with the tool
// (Debian's mariadb-backup package has /usr/bin/mbstream).
var streamFormats = map[flavor.Kind]struct{ format, extractor string }{
	flavor.MariaDB: {"mbstream", "mbstream"},
	flavor.MySQL:   {"xbstream", "xbstream"},
}

// streamBackup copies the datadir of a server on another host: the
// backup tool runs there, through the server's machine, and streams the
// copy to an extractor here, which writes it into the payload directory
// for --prepare.
//
//  1. read the datadir and socket from the server
//  2. find the tool on the host, of the server's major.minor
//  3. write the connection options into a 0600 file in a new 0700
//     directory there (through the machine's WriteFile: the password
//     travels on ssh's standard input, never in an argument)
//  4. run `TOOL --backup --stream=FORMAT` there into `EXTRACTOR -x` here
//  5. remove the directory there, whatever happened
func streamBackup(ctx context.Context, j *backupJob, h machine.Host, local tool, log io.Writer) (err error) {
	row, err := j.src.QueryRow(ctx, "SELECT @@GLOBAL.datadir AS datadir, @@GLOBAL.socket AS socket, @@GLOBAL.port AS port")
	if err != nil {
		return err
	}
	datadir, _ := row["datadir"].(string)
	if datadir == "" {
		return fmt.Errorf("the server reports no datadir")
	}
	sf := streamFormats[j.fl.Kind]
	x, err := findExtractor(local, sf.extractor)
	if err != nil {
		return err
	}
	rt, err := findRemoteTool(ctx, h, j.opts.Tools.RemoteBackup, j.fl)
	if err != nil {
		return err
	}
	if err := sameRelease(rt, j.fl); err != nil {
		return fmt.Errorf("on %s: %w", h, err)
	}
	j.manifest.Tool = rt.String()
	of, err := newRemoteOptionFile(ctx, h, toolConnection(j.src.Config(), row), rt)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := of.cleanup(ctx); cerr != nil && err == nil {
			// Not a clean backup: it left the password on the host.
			err = cerr
		}
	}()
	argv := []string{rt.path, "--defaults-file=" + of.path, "--backup", "--stream=" + sf.format,
		"--target-dir=" + of.dir, "--tmpdir=" + of.dir, "--datadir=" + datadir}
	if err := os.Mkdir(j.payload, 0o700); err != nil {
		return err
	}
	p := startProgress(j.opts.Progress, j.src.String()+": physical backup through "+h.String(), 0, nil)
	err = runStreamInto(ctx, h, argv, x, j.payload, p, log, of.password)
	p.finish(doneOrFailed(err))
	return err
}

// toolConnection is how the tool reaches the server from the server's own
// host: its socket (the address we use may be a proxy, a VIP or a NAT
// address that means another server there), else 127.0.0.1 and its port.
// The TLS files named in cfg are on this machine, not there; a socket
// needs no TLS.
func toolConnection(cfg server.Config, row map[string]any) server.Config {
	c := server.Config{Name: cfg.Name, User: cfg.User, Password: cfg.Password}
	if sock, _ := row["socket"].(string); sock != "" {
		c.Socket = sock
		return c
	}
	c.Host = "127.0.0.1"
	switch p := row["port"].(type) {
	case int64:
		c.Port = int(p)
	case uint64:
		c.Port = int(p)
	}
	return c
}

// runStreamInto runs argv on h with its output going into the extractor
// x, started here in dir. A remote failure (the tool, ssh) is the error,
// with the tool's stderr; when only our end failed (the extractor quit
// reading, so the stream could not be written) the extractor's stderr
// says why.
func runStreamInto(ctx context.Context, h machine.Host, argv []string, x, dir string, p *progress, log io.Writer, secret string) error {
	cmd := exec.CommandContext(ctx, x, "-x", "-C", dir)
	tail := newTail()
	cmd.Stderr = io.MultiWriter(log, tail)
	cmd.Env = cleanEnv(os.Environ())
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", x, err)
	}
	serr := h.RunStream(ctx, argv, nil, io.MultiWriter(in, p))
	in.Close()
	xerr := cmd.Wait()
	var ce *machine.CommandError
	remoteFailed := errors.As(serr, &ce)
	if remoteFailed {
		// The tool has the password in its option file only, but a
		// server's error could echo it.
		ce.Stderr = scrub(ce.Stderr, secret)
	}
	switch {
	case serr != nil && (remoteFailed || xerr == nil):
		return onHost(h, serr)
	case xerr != nil:
		if msg := tail.lines(8, secret); msg != "" {
			xerr = fmt.Errorf("%w:\n%s", xerr, msg)
		}
		return fmt.Errorf("%s -x: %w", filepath.Base(x), xerr)
	}
	return nil
}

// findExtractor looks for the stream extractor next to the local backup
// tool first (the same release), then on PATH.
func findExtractor(local tool, name string) (string, error) {
	beside := filepath.Join(filepath.Dir(local.path), name)
	if fi, err := os.Stat(beside); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return beside, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found beside %s or on PATH: it extracts the stream of a backup taken on another host "+
			"(it comes with %s)", name, local.path, filepath.Base(local.path))
	}
	return p, nil
}

// notFoundCode is what findToolScript exits with when no tool is found.
const notFoundCode = 44

// findToolScript prints the path of the first program of "$@" that exists
// (a name on the login PATH or in /usr/bin, or an absolute path), then
// its --version output, which mariadb-backup writes on stderr.
const findToolScript = `for n in "$@"; do
  case $n in
    /*) [ -x "$n" ] && p=$n ;;
    *) p=$(command -v "$n" || { [ -x "/usr/bin/$n" ] && echo "/usr/bin/$n"; }) || p= ;;
  esac
  [ -n "$p" ] && break
done
[ -n "$p" ] || exit 44
printf '%s\n' "$p"
exec "$p" --version 2>&1`

// findRemoteTool is findTool on h: given is a path there, else the
// product's names are tried.
func findRemoteTool(ctx context.Context, h machine.Host, given string, fl flavor.Flavor) (tool, error) {
	names := toolNames[backupRole][fl.Kind]
	if given != "" {
		names = []string{given}
	}
	out, err := runScript(ctx, h, "find tool", findToolScript, names...)
	if ce, ok := errors.AsType[*machine.CommandError](err); ok && ce.ExitCode == notFoundCode {
		return tool{}, fmt.Errorf("none of %s found on %s (install the %s backup tool there, or give its path)",
			strings.Join(names, ", "), h, fl.Kind)
	}
	if err != nil {
		return tool{}, fmt.Errorf("looking for %s: %w", names[0], onHost(h, err))
	}
	path, version, _ := strings.Cut(string(out), "\n")
	v, err := parseToolVersion(version)
	if err != nil {
		return tool{}, fmt.Errorf("%s --version on %s: %w", path, h, err)
	}
	if v.Kind != fl.Kind {
		return tool{}, fmt.Errorf("%s on %s is %s's (%s), the server is %s", path, h, v.Kind, v.Raw, fl)
	}
	return tool{path: path, version: v}, nil
}

// remoteOptionFile is optionFile on another host: a 0600 file in a
// directory made by mktemp -d (0700), removed by cleanup.
type remoteOptionFile struct {
	h        machine.Host
	dir      string
	path     string
	user     string
	password string
}

func newRemoteOptionFile(ctx context.Context, h machine.Host, cfg server.Config, t tool) (*remoteOptionFile, error) {
	out, err := h.Run(ctx, []string{"mktemp", "-d", "-t", "replicant-backup.XXXXXXXX"})
	if err != nil {
		return nil, onHost(h, err)
	}
	dir := strings.TrimSpace(string(out))
	if !filepath.IsAbs(dir) || strings.ContainsAny(dir, "\n") {
		return nil, fmt.Errorf("mktemp -d on %s printed %q, not a directory", h, out)
	}
	o := &remoteOptionFile{h: h, dir: dir, path: dir + "/client.cnf", user: cfg.User, password: cfg.Password.Reveal()}
	if dir == "/" {
		return nil, fmt.Errorf("mktemp -d on %s printed %q", h, out)
	}
	text := "# Written by replicant-lua for one run of " + filepath.Base(t.path) + "; removed after it.\n" +
		"[client]\n" + clientOptions(cfg, t.version)
	if err := h.WriteFile(ctx, o.path, []byte(text), 0o600); err != nil {
		if cerr := o.cleanup(ctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, onHost(h, err)
	}
	return o, nil
}

// cleanup removes the directory even when ctx has ended: the password
// must not stay on the host.
func (o *remoteOptionFile) cleanup(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), machine.DefaultCommandTimeout)
	defer cancel()
	if _, err := o.h.Run(cctx, []string{"rm", "-rf", "--", o.dir}); err != nil {
		return fmt.Errorf("removing %s on %s failed (%w): delete it, it holds the password of %s", o.dir, o.h, err, o.user)
	}
	return nil
}
