package backup

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Tools are the paths of the external programs; an empty field is looked
// up on PATH by the server's product (see toolNames).
type Tools struct {
	Dump   string // mariadb-dump or mysqldump
	Client string // mariadb or mysql, to load a dump
	Backup string // mariadb-backup (MariaDB) or xtrabackup (MySQL)
	// RemoteBackup is the backup tool's path on the host of a source
	// reached through its machine (Options.Host); empty: the product's
	// names on that host's PATH, or in /usr/bin.
	RemoteBackup string
}

type toolRole int

const (
	dumpRole toolRole = iota
	clientRole
	backupRole
)

// toolNames are tried in order. On Debian mysqldump and mysql are links to
// MariaDB's tools, which is why the version is checked after the lookup.
var toolNames = map[toolRole]map[flavor.Kind][]string{
	dumpRole:   {flavor.MariaDB: {"mariadb-dump", "mysqldump"}, flavor.MySQL: {"mysqldump"}},
	clientRole: {flavor.MariaDB: {"mariadb", "mysql"}, flavor.MySQL: {"mysql"}},
	backupRole: {flavor.MariaDB: {"mariadb-backup", "mariabackup"}, flavor.MySQL: {"xtrabackup"}},
}

// tool is a program found and identified.
type tool struct {
	path    string
	version flavor.Flavor // the server release the tool belongs to
}

func (t tool) String() string { return filepath.Base(t.path) + " " + t.version.Raw }

// findTool resolves the program for role against a server of flavor fl:
// given explicitly or found on PATH, and of the same product, because
// MariaDB's and MySQL's tools differ in options and output (mariadb-dump
// --gtid; mysqldump --source-data; the dump's first line
// "/*M!999999\- enable the sandbox mode */" that only MariaDB's client
// reads).
func findTool(ctx context.Context, role toolRole, given string, fl flavor.Flavor) (tool, error) {
	names := toolNames[role][fl.Kind]
	path := given
	if path == "" {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				path = p
				break
			}
		}
		if path == "" {
			return tool{}, fmt.Errorf("none of %s found on PATH (install the %s client tools, or give the tool's path)",
				strings.Join(names, ", "), fl.Kind)
		}
	}
	v, err := toolVersion(ctx, path)
	if err != nil {
		return tool{}, err
	}
	if v.Kind != fl.Kind {
		return tool{}, fmt.Errorf("%s is %s's (%s), the server is %s: give the path of %s's %s",
			path, v.Kind, v.Raw, fl, fl.Kind, names[0])
	}
	return tool{path: path, version: v}, nil
}

// toolVersion runs `tool --version` and reads the release it belongs to.
// mariadb-backup prints its version on stderr, so both streams are read.
func toolVersion(ctx context.Context, path string) (flavor.Flavor, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return flavor.Flavor{}, fmt.Errorf("%s --version: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	v, err := parseToolVersion(string(out))
	if err != nil {
		return v, fmt.Errorf("%s --version: %w", path, err)
	}
	return v, nil
}

// Version lines seen (the release is what matters, not the tool's own
// number):
//
//	mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
//	mariadb-dump from 11.4.2-MariaDB, client 10.19 for debian-linux-gnu (x86_64)
//	mariadb-backup based on MariaDB server 10.11.19-MariaDB debian-linux-gnu (x86_64)
//	mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)
//	mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)
//	xtrabackup version 8.0.35-30 based on MySQL server 8.0.35 Linux (x86_64) (revision id: 6beb4b49)
var toolVersionPatterns = []*regexp.Regexp{
	regexp.MustCompile(`based on (?:MariaDB|MySQL) server (\S+)`),
	regexp.MustCompile(`Distrib ([^\s,]+)`),
	regexp.MustCompile(` from ([^\s,]+)`),
	regexp.MustCompile(`Ver ([^\s,]+)`),
}

func parseToolVersion(out string) (flavor.Flavor, error) {
	line := strings.TrimSpace(out)
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	for _, re := range toolVersionPatterns {
		if m := re.FindStringSubmatch(line); m != nil {
			f, err := flavor.Parse(m[1])
			if err != nil {
				return f, err
			}
			if strings.Contains(strings.ToLower(line), "mariadb") {
				f.Kind = flavor.MariaDB
			}
			return f, nil
		}
	}
	return flavor.Flavor{Raw: line}, fmt.Errorf("cannot read a version in %q", line)
}

// optionFile holds a server's connection options for one tool run: a
// 0600 file in a fresh 0700 directory, removed by cleanup. The password
// goes there and never on a command line (any user can read
// /proc/PID/cmdline) or in the environment (MYSQL_PWD shows in
// /proc/PID/environ to the same user and is deprecated).
type optionFile struct {
	path     string
	password string
	dir      string
}

// newOptionFile writes the options for cfg as the tool's product spells
// them. It is passed as --defaults-file, not --defaults-extra-file: then
// /etc/mysql/my.cnf cannot send the tool to another socket or add options
// we did not choose (docs/MARIADB-FACTS.md: without -h/-P the clients follow it to
// /run/mysqld).
func newOptionFile(cfg server.Config, t tool) (*optionFile, error) {
	dir, err := os.MkdirTemp("", "replicant-backup-")
	if err != nil {
		return nil, err
	}
	o := &optionFile{path: filepath.Join(dir, "client.cnf"), password: cfg.Password.Reveal(), dir: dir}
	text := "# Written by replicant-lua for one run of " + filepath.Base(t.path) + "; removed after it.\n" +
		"[client]\n" + clientOptions(cfg, t.version)
	if err := os.WriteFile(o.path, []byte(text), 0o600); err != nil {
		o.cleanup()
		return nil, err
	}
	return o, nil
}

func (o *optionFile) cleanup() { os.RemoveAll(o.dir) }

// arg is the option that must come first on the tool's command line.
func (o *optionFile) arg() string { return "--defaults-file=" + o.path }

// clientOptions is the body of the [client] group. TLS options differ:
// MariaDB's clients take ssl / ssl-verify-server-cert, MySQL's ssl-mode;
// a tool stops at an option it does not know, so only the product's own
// are written.
func clientOptions(cfg server.Config, tv flavor.Flavor) string {
	var b strings.Builder
	kv := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	kv("user", quoteOption(cfg.User))
	kv("password", quoteOption(cfg.Password.Reveal()))
	if cfg.Socket != "" {
		kv("socket", quoteOption(cfg.Socket))
		kv("protocol", "socket")
	} else {
		port := cfg.Port
		if port == 0 {
			port = server.DefaultPort
		}
		kv("host", quoteOption(cfg.Host))
		kv("port", strconv.Itoa(port))
		// host=localhost would otherwise mean the default socket.
		kv("protocol", "tcp")
	}
	for _, l := range tlsOptions(cfg.TLS, tv) {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func tlsOptions(t server.TLSConfig, tv flavor.Flavor) []string {
	mode := t.Mode
	if mode == "" && t.CA != "" {
		mode = server.TLSVerify
	}
	var out []string
	if tv.IsMariaDB() {
		switch mode {
		case server.TLSDisabled:
			out = append(out, "skip-ssl")
		case server.TLSRequired:
			out = append(out, "ssl")
		case server.TLSVerify:
			out = append(out, "ssl", "ssl-verify-server-cert")
		}
	} else {
		m := map[string]string{server.TLSDisabled: "DISABLED", server.TLSPreferred: "PREFERRED",
			server.TLSRequired: "REQUIRED", server.TLSVerify: "VERIFY_IDENTITY"}[mode]
		if m != "" {
			out = append(out, "ssl-mode = "+m)
		}
	}
	for _, kv := range [][2]string{{"ssl-ca", t.CA}, {"ssl-cert", t.Cert}, {"ssl-key", t.Key}} {
		if kv[1] != "" {
			out = append(out, kv[0]+" = "+quoteOption(kv[1]))
		}
	}
	return out
}

// quoteOption quotes a value for an option file. The server's reader
// (mysys my_default.c) strips one pair of matching quotes, turns \" \\ \n
// \r \t into their characters, and outside quotes takes # as a comment:
// so every value is double-quoted with those escaped.
func quoteOption(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(v) + `"`
}

// runTool runs one tool to completion. Its stderr goes to log (when not
// nil) and to a tail quoted in the error, with the password scrubbed.
func runTool(ctx context.Context, cmd *exec.Cmd, log io.Writer, secret string) error {
	tail := newTail()
	var stderr io.Writer = tail
	if log != nil {
		stderr = io.MultiWriter(log, tail)
	}
	cmd.Stderr = stderr
	// No MYSQL_PWD or other MYSQL_* from our environment: only the option
	// file decides how the tool connects.
	cmd.Env = cleanEnv(os.Environ())
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Start()
	if err == nil {
		if startHook != nil {
			startHook(cmd)
		}
		err = cmd.Wait()
	}
	if err == nil {
		return nil
	}
	msg := tail.lines(8, secret)
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if msg == "" {
		return fmt.Errorf("%s: %w", filepath.Base(cmd.Path), err)
	}
	return fmt.Errorf("%s: %w:\n%s", filepath.Base(cmd.Path), err, msg)
}

// startHook lets a test look at each tool's process once it runs (its
// /proc/PID/cmdline and environ).
var startHook func(*exec.Cmd)

func cleanEnv(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "MYSQL_") && !strings.HasPrefix(e, "MARIADB_") {
			out = append(out, e)
		}
	}
	return out
}
