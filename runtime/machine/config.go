package machine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// printDefaults prints the options a program would read from its option
// files, one "--name=value" a line. "--mysqld" makes it read exactly the
// groups mariadbd reads ([mysqld], [server], [mariadb], [mariadbd],
// [client-server], [galera] and their -VERSION forms), following
// !include and !includedir: we ask MariaDB's own parser rather than
// imitate it. It ships with the server (mariadb-client-core on Debian,
// a dependency of mariadb-server).
const printDefaults = "my_print_defaults"

// serverFiles are the paths that matter to start and stop one server.
type serverFiles struct {
	dataDir    string // "" when the option file sets none
	pidFile    string
	passPid    bool   // pidFile is not the option file's: pass --pid-file
	errorLog   string // "" when errors go to the console
	consoleLog string // the server's stdout and stderr
}

// option is one server option: set is false for a bare "--name".
type option struct {
	value string
	set   bool
}

// files reads the option file (again at each start and stop: an operator
// or a role may have edited it) and works out the server's paths.
func (p *Process) files(ctx context.Context) (serverFiles, error) {
	argv := []string{printDefaults, "--defaults-file=" + p.o.DefaultsFile, "--mysqld"}
	out, err := p.host.Run(ctx, argv)
	if err != nil {
		return serverFiles{}, fmt.Errorf("reading option file %s: %w", p.o.DefaultsFile, err)
	}
	opts := parseOptions(strings.Split(string(out), "\n"))
	// Options on the command line win over the option file, as in mariadbd.
	for k, v := range parseOptions(p.o.Args) {
		opts[k] = v
	}
	return resolveFiles(opts, p.o)
}

// parseOptions reads "--name=value" and "--name" words. Names are
// normalised as mariadbd does: '_' and '-' are the same, and "loose-"
// only says an unknown option is not an error.
func parseOptions(words []string) map[string]option {
	opts := map[string]option{}
	for _, w := range words {
		w = strings.TrimRight(w, "\r")
		if !strings.HasPrefix(w, "--") {
			continue
		}
		name, value, set := strings.Cut(w[2:], "=")
		name = strings.TrimPrefix(strings.ReplaceAll(name, "_", "-"), "loose-")
		opts[name] = option{value: value, set: set}
	}
	return opts
}

// resolveFiles applies mariadbd's rules for pid-file and log-error, as
// MariaDB 10.11 behaves: a relative name is in the datadir, a log-error
// without an extension gets ".err" (a pid-file gets none), and a bare
// log-error is the pid file's name with ".err".
func resolveFiles(opts map[string]option, o ProcessOptions) (serverFiles, error) {
	var f serverFiles
	if d := opts["datadir"]; d.value != "" {
		f.dataDir = filepath.Clean(absFrom("/", d.value))
	}
	configured := ""
	if v := opts["pid-file"]; v.value != "" {
		configured = serverPath(v.value, f.dataDir, "")
	}
	switch {
	case o.PidFile != "":
		f.pidFile, f.passPid = o.PidFile, o.PidFile != configured
	case configured != "":
		f.pidFile = configured
	case f.dataDir != "":
		// mariadbd's own default is datadir/HOSTNAME.pid; a fixed name
		// does not depend on a host name that may change.
		f.pidFile, f.passPid = filepath.Join(f.dataDir, "mariadbd.pid"), true
	default:
		return f, errors.New("no pid file: set pid_file, or pid-file or datadir in the option file")
	}
	f.errorLog = o.ErrorLog
	if v, ok := opts["log-error"]; f.errorLog == "" && ok {
		if v.value == "" {
			f.errorLog = strings.TrimSuffix(f.pidFile, filepath.Ext(f.pidFile)) + ".err"
		} else {
			f.errorLog = serverPath(v.value, f.dataDir, ".err")
		}
	}
	f.consoleLog = o.ConsoleLog
	if f.consoleLog == "" {
		f.consoleLog = defaultConsoleLog(f)
	}
	return f, nil
}

// defaultConsoleLog is next to the datadir, not in it: a datadir is the
// server's, and some tools refuse a datadir holding unknown files.
func defaultConsoleLog(f serverFiles) string {
	if f.dataDir != "" {
		return filepath.Join(filepath.Dir(f.dataDir), filepath.Base(f.dataDir)+".console.log")
	}
	return strings.TrimSuffix(f.pidFile, filepath.Ext(f.pidFile)) + ".console.log"
}

// serverPath is where mariadbd puts a file named v.
func serverPath(v, dataDir, ext string) string {
	if ext != "" && filepath.Ext(v) == "" {
		v += ext
	}
	if dataDir != "" {
		v = absFrom(dataDir, v)
	}
	return filepath.Clean(v)
}

// absFrom is path, relative to dir when it is not absolute.
func absFrom(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}
