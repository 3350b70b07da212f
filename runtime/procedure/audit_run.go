package procedure

import (
	"bytes"
	"errors"
	"os"
	"os/user"
	"regexp"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/mycnf"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Header is what the first line of a run says about it.
type Header struct {
	Command    []string // the command line, program name first; RedactCommand is applied
	Deployment string   // the deployment file's path; "" for none
	DryRun     bool
	Version    string // the tool's
}

// Begin writes the run's header line, run_start: who ran what, where and
// when.
func (a *Audit) Begin(h Header) {
	host, _ := os.Hostname()
	a.Event("run_start", "", map[string]any{
		"command": RedactCommand(h.Command), "deployment": h.Deployment, "dry_run": h.DryRun,
		"version": h.Version, "user": osUser(), "host": host, "pid": os.Getpid(),
		"start": timestamp(a.start),
	})
}

func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// End writes the run's footer line, run_end: its exit code, how long it
// took, and its outcome: "ok", or "failed" with the error.
func (a *Audit) End(code int, err error) {
	d := map[string]any{"exit_code": code, "duration_ms": Milliseconds(time.Since(a.start)), "outcome": "ok"}
	if code != 0 || err != nil {
		d["outcome"] = "failed"
	}
	if err != nil {
		d["error"] = flavor.Redact(err.Error())
	}
	a.Event("run_end", "", d)
}

// secretWord matches a word that names a secret: password, passwd, pwd,
// pw, secret, token, in any case and as part of a longer name
// (master_password, --repl-secret).
var secretWord = regexp.MustCompile(`(?i)(pass(word|wd)?|pwd|\bpw\b|_pw\b|secret|token)`)

// SecretName reports whether an option, flag or key named name holds a
// secret, whose value the audit log never shows.
func SecretName(name string) bool { return secretWord.MatchString(name) }

// secretAssignment is a secret's name, then = or :, then its value, as a
// command line, Lua or SQL text writes it: `--password=x`,
// `password = "x"`, `MASTER_PASSWORD='x'`.
var secretAssignment = regexp.MustCompile(`(?i)((?:pass(?:word|wd)?|pwd|\bpw|secret|token)\w*["']?\s*[=:]\s*)` +
	`("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;})"']+)`)

// literal is a quoted string of Lua or SQL on one line.
var literal = regexp.MustCompile(`"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'`)

// RedactCommand returns argv with the values of secrets replaced: the
// value after a secret's name and = or : inside any argument, the argument
// after a flag that names a secret ("--password x"), the password
// literals of SQL text (flavor.Redact), and, failing closed, every quoted
// string on a line of an argument (-e code) that names a secret or an
// IDENTIFIED clause, but SQL text: cfg:set("client", "password", "x")
// loses all three, db:exec("CREATE USER u IDENTIFIED BY ?", "x") only "x". A secret a script keeps in a variable set on
// another line is not recognised: deployment files keep secrets instead.
func RedactCommand(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if i > 0 && isSecretFlag(argv[i-1]) {
			out[i] = server.Redacted
			continue
		}
		// Names first: flavor.Redact cuts a double-quoted Lua string off
		// with the rest of the code.
		a = flavor.Redact(secretAssignment.ReplaceAllString(a, "${1}"+server.Redacted))
		lines := strings.Split(a, "\n")
		for j, l := range lines {
			if mentionsSecret(l) {
				lines[j] = literal.ReplaceAllStringFunc(l, func(lit string) string {
					// SQL text stays: its password literals are gone already.
					if sqlText(lit) || lit[1:len(lit)-1] == server.Redacted {
						return lit
					}
					return lit[:1] + server.Redacted + lit[:1]
				})
			}
		}
		out[i] = strings.Join(lines, "\n")
	}
	return out
}

// sqlText is a quoted string of several words that names a secret: a
// statement, which flavor.Redact has seen.
func sqlText(lit string) bool { return strings.ContainsAny(lit, " \t") && mentionsSecret(lit) }

func mentionsSecret(s string) bool {
	return secretWord.MatchString(s) || strings.Contains(strings.ToUpper(s), "IDENTIFIED")
}

// isSecretFlag is a flag without its value ("--password"), whose value is
// the next argument.
func isSecretFlag(arg string) bool {
	return strings.HasPrefix(arg, "-") && !strings.ContainsAny(arg, "= ") && SecretName(arg)
}

// MachineAction is one start, stop, restart (or, planned in a dry run, a
// command) done to a server through its machine.
type MachineAction struct {
	Server  string // "db2 (127.0.0.1:3307)"
	Machine string // how it is reached: "local process /etc/my.cnf"
	Action  string // "start", "stop", "restart" or "run"
	Command []string
	Planned bool // a dry run: recorded, not done
	Start   time.Time
	Err     error
}

// Machine writes a "machine" line: state planned, done or failed, its
// duration, and whether the server had to be killed (SIGKILL after its
// grace period).
func (a *Audit) Machine(m MachineAction) {
	d := map[string]any{"server": m.Server, "machine": m.Machine, "action": m.Action, "state": StateDone,
		"duration_ms": Milliseconds(time.Since(m.Start))}
	if m.Command != nil {
		d["command"] = RedactCommand(m.Command)
	}
	switch {
	case m.Planned:
		d["state"], d["duration_ms"] = "planned", 0.0
	case m.Err != nil:
		d["state"], d["error"] = StateFailed, m.Err.Error()
		d["killed"] = errors.Is(m.Err, machine.ErrKilled)
	}
	a.Event("machine", m.Action, d)
}

// FileWrite is one file written on a server's machine: an option file.
type FileWrite struct {
	Server, Machine, Path string
	Before, After         []byte // the content it replaced (nil: none), and the new one
	Planned               bool
	Start                 time.Time
	Err                   error
}

// FileWrite writes a "file" line: the path, and each option changed with
// its section, name, and values before and after (null: absent, true: a
// flag without a value; a secret's value "<redacted>"). A file that does
// not parse as an option file is written as changed, without changes.
func (a *Audit) FileWrite(f FileWrite) {
	d := map[string]any{"server": f.Server, "machine": f.Machine, "path": f.Path, "state": StateDone,
		"duration_ms": Milliseconds(time.Since(f.Start))}
	switch {
	case f.Planned:
		d["state"], d["duration_ms"] = "planned", 0.0
	case f.Err != nil:
		d["state"], d["error"] = StateFailed, f.Err.Error()
	}
	changes, err := optionChanges(f.Path, f.Before, f.After)
	if err != nil {
		d["unparsed"] = err.Error()
	} else {
		d["changes"] = changes
	}
	a.Event("file", f.Path, d)
}

type optionChange struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Before  any    `json:"before"`
	After   any    `json:"after"`
}

func optionChanges(path string, before, after []byte) ([]optionChange, error) {
	var old *mycnf.File
	if before != nil {
		var err error
		if old, err = mycnf.Parse(bytes.NewReader(before), path); err != nil {
			return nil, err
		}
	}
	updated, err := mycnf.Parse(bytes.NewReader(after), path)
	if err != nil {
		return nil, err
	}
	out := []optionChange{}
	for _, c := range mycnf.Diff(old, updated) {
		secret := SecretName(c.Name)
		out = append(out, optionChange{Section: c.Section, Name: c.Name,
			Before: optionValue(c.Before, secret), After: optionValue(c.After, secret)})
	}
	return out, nil
}

func optionValue(v mycnf.OptionValue, secret bool) any {
	switch {
	case !v.Present:
		return nil
	case secret:
		return server.Redacted
	case !v.HasValue:
		return true
	}
	return v.Value
}
