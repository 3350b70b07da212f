// Package scenario runs scenario tests: folders that say what sandbox to
// start, what to set up and break, what to run, and what must hold
// afterwards (the shape of gh-ost's localtests). `replicant-lua test`
// runs them for operators against their own playbooks; the project's own
// hostile cases are the built-in catalogue (builtin/, embedded).
//
// A scenario folder holds:
//
//	servers      sandbox size (default 3)
//	options      "name=value" lines: mysqld options of every server, after
//	             the sandbox's own (gtid-strict-mode=0 for MariaDB's default)
//	setup.lua    playbook run first (optional)
//	fault        one per line, after setup.lua (optional):
//	             "kill-primary": SIGKILL db1 and wait for it to go;
//	             "wrong-password NAME": the deployment gives NAME a wrong password
//	args         the run's arguments, one per line ("-d DEPLOYMENT" comes first)
//	exit         the exit code wanted (default 0)
//	stdout       lines that must appear in stdout (optional)
//	stderr       lines that must appear in stderr (optional)
//	final.lua    playbook that checks the final state; must exit 0
//	again        arguments of a second run (idempotency), with again.stdout
//	             and again.stderr
//	*.lua        other playbooks the args name (play.lua)
//	README, README.md
//
// Any other file is an error: a misspelt "fualt" must not silently test
// nothing.
//
// A test file is a Lua file that says all of this itself, through
// `require "replicant.test"` (t.topology, the faults, t.writer, t.run; see
// docs/TESTING.md): a path ending in .lua, or a *_test.lua file in a
// folder of scenarios. Runs happen in the scenario's folder; playbooks get
// APP_PASSWORD, DB1_PID, DB2_PID, ... and a TMPDIR of the scenario's own in
// their environment.
package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Scenario is one folder, read and checked.
type Scenario struct {
	Name    string // the folder's name
	Dir     string // its path
	Servers int
	Options map[string]string
	Faults  [][]string // each fault's words
	Args    []string
	Exit    int
	Stdout  []string
	Stderr  []string
	Again   []string
	// AgainStdout and AgainStderr are what the second run must print.
	AgainStdout, AgainStderr []string
	Setup, Final             bool // setup.lua, final.lua exist
	// File is the test file, for a scenario that is one; the rest is
	// then unused.
	File string
}

var known = map[string]bool{"servers": true, "options": true, "setup.lua": true, "fault": true, "args": true,
	"exit": true, "stdout": true, "stderr": true, "final.lua": true, "again": true, "again.stdout": true,
	"again.stderr": true, "README": true, "README.md": true}

// Load reads the scenario in dir. Errors name the folder and the file.
func Load(dir string) (*Scenario, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", dir, err)
	}
	s := &Scenario{Name: filepath.Base(dir), Dir: dir, Servers: 3, Options: map[string]string{}}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || (!known[n] && !strings.HasSuffix(n, ".lua")) {
			return nil, fmt.Errorf("scenario %s: unknown file %s (a scenario has servers, options, setup.lua, "+
				"fault, args, exit, stdout, stderr, final.lua, again, again.stdout, again.stderr, other *.lua)", dir, n)
		}
	}
	read := func(name string) ([]string, error) { return readLines(filepath.Join(dir, name)) }
	var errs []error
	lines := func(name string) []string {
		l, err := read(name)
		if err != nil {
			errs = append(errs, err)
		}
		return l
	}
	if l := lines("servers"); len(l) > 0 {
		if s.Servers, err = strconv.Atoi(l[0]); err != nil || s.Servers < 1 || s.Servers > 9 {
			errs = append(errs, fmt.Errorf("%s/servers: %q: want a number of servers, 1 to 9", dir, l[0]))
		}
	}
	for i, l := range lines("options") {
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("%s/options:%d: %q: want name=value", dir, i+1, l))
			continue
		}
		s.Options[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	for i, l := range lines("fault") {
		w := strings.Fields(l)
		switch {
		case w[0] == "kill-primary" && len(w) == 1, w[0] == "wrong-password" && len(w) == 2:
			s.Faults = append(s.Faults, w)
		default:
			errs = append(errs, fmt.Errorf("%s/fault:%d: unknown fault %q (kill-primary, wrong-password NAME)", dir, i+1, l))
		}
	}
	if s.Args = lines("args"); len(s.Args) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("scenario %s: no args file: what does it run?", dir))
	}
	if l := lines("exit"); len(l) > 0 {
		if s.Exit, err = strconv.Atoi(l[0]); err != nil {
			errs = append(errs, fmt.Errorf("%s/exit: %q: want an exit code", dir, l[0]))
		}
	}
	s.Stdout, s.Stderr = lines("stdout"), lines("stderr")
	s.Again, s.AgainStdout, s.AgainStderr = lines("again"), lines("again.stdout"), lines("again.stderr")
	s.Setup, s.Final = exists(filepath.Join(dir, "setup.lua")), exists(filepath.Join(dir, "final.lua"))
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Find lists the scenarios under each path: a scenario folder itself (it
// has an args file), or a folder of them. Sorted by name within a path.
func Find(paths []string) ([]*Scenario, error) {
	var out []*Scenario
	for _, p := range paths {
		if strings.HasSuffix(p, ".lua") {
			f, err := testFile(p)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
			continue
		}
		if exists(filepath.Join(p, "args")) {
			s, err := Load(p)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("test: %w", err)
		}
		var found []*Scenario
		for _, e := range entries { // in name order
			path := filepath.Join(p, e.Name())
			var s *Scenario
			switch {
			case e.IsDir():
				s, err = Load(path)
			case strings.HasSuffix(e.Name(), "_test.lua"):
				s, err = testFile(path)
			default:
				continue
			}
			if err != nil {
				return nil, err
			}
			found = append(found, s)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("test: %s is neither a scenario (no args file) nor a folder of scenarios or *_test.lua files", p)
		}
		out = append(out, found...)
	}
	return out, nil
}

// testFile is the scenario of a Lua test file.
func testFile(path string) (*Scenario, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("test: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("test: %s is a folder, not a test file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), ".lua")
	return &Scenario{Name: name, Dir: filepath.Dir(abs), File: abs}, nil
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func readLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}
