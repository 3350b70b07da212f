package backup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func TestMain(m *testing.M) { sandboxtest.Main(m) }

// seen is what startHook saw of one tool process: its argv and environment
// as we passed them and, when it still ran, as /proc shows them.
type seen struct {
	args, env      string
	procArgv, proc string // from /proc; empty when it had already exited
	optionFile     string
	optionMode     os.FileMode
}

func watchTools(t *testing.T) *[]seen {
	var mu sync.Mutex
	var all []seen
	startHook = func(cmd *exec.Cmd) {
		dir := "/proc/" + strconv.Itoa(cmd.Process.Pid)
		argv, _ := os.ReadFile(dir + "/cmdline")
		env, _ := os.ReadFile(dir + "/environ")
		s := seen{args: strings.Join(cmd.Args, " "), env: strings.Join(cmd.Env, "\n"),
			procArgv: strings.ReplaceAll(string(argv), "\x00", " "), proc: string(env)}
		for _, a := range cmd.Args {
			if p, ok := strings.CutPrefix(a, "--defaults-file="); ok {
				s.optionFile = p
				if fi, err := os.Stat(p); err == nil {
					s.optionMode = fi.Mode().Perm()
				}
			}
		}
		mu.Lock()
		all = append(all, s)
		mu.Unlock()
	}
	t.Cleanup(func() { startHook = nil })
	return &all
}

// TestToolsNeverSeePassword backs up with an account whose password needs
// every kind of quoting in an option file, and looks at each tool process
// while it runs: the password is neither in its argv nor its environment,
// and the option file it reads is 0600 and gone afterwards.
func TestToolsNeverSeePassword(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in := sb.Primary()
	admin := connect(t, sb, in)
	pw := `p#a"s s\w'o;rd`
	for _, q := range []string{
		`CREATE USER 'bk'@'%' IDENTIFIED BY 'p#a"s s\\w\'o;rd'`,
		`GRANT ALL ON *.* TO 'bk'@'%'`,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	src, err := server.New(server.Config{Name: in.Name, Host: "127.0.0.1", Port: in.Port, User: "bk", Password: server.Secret(pw)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	procs := watchTools(t)
	for _, meth := range []Method{Logical, Physical} {
		dir := filepath.Join(t.TempDir(), string(meth))
		m, err := Backup(ctx, src, dir, Options{Method: meth})
		if err != nil {
			t.Fatalf("%s: %v", meth, err)
		}
		if m.Position == "" || m.GTID == "" {
			t.Errorf("%s: manifest without coordinates: %+v", meth, m)
		}
	}
	live := 0
	for _, s := range *procs {
		t.Logf("tool process: %s (seen in /proc: %v)", s.args, s.procArgv != "")
		if s.procArgv != "" {
			live++
		}
		for _, text := range []string{s.args, s.env, s.procArgv, s.proc} {
			if strings.Contains(text, "o;rd") {
				t.Errorf("password visible in a tool's process: %s", s.args)
			}
		}
		if s.optionFile == "" {
			continue
		}
		if s.optionMode != 0o600 {
			t.Errorf("option file mode %v for %s", s.optionMode, s.args)
		}
		if _, err := os.Stat(filepath.Dir(s.optionFile)); !os.IsNotExist(err) {
			t.Errorf("option file directory left behind: %s (%v)", filepath.Dir(s.optionFile), err)
		}
	}
	if len(*procs) < 3 || live == 0 {
		t.Fatalf("saw %d tool processes (%d in /proc), want dump, backup and prepare", len(*procs), live)
	}
}

// TestBackupErrorQuotesTool checks that a tool's failure names the server
// and the tool and quotes its stderr, without the password.
func TestBackupErrorQuotesTool(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := connect(t, sb, sb.Primary())
	script := filepath.Join(t.TempDir(), "mariadb-dump")
	body := "#!/bin/sh\nif [ \"$1\" = --version ]; then exec /usr/bin/mariadb-dump --version; fi\n" +
		"echo 'mariadb-dump: Got error: 2013: Lost connection' >&2\nexit 2\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "img")
	_, err := Backup(ctx, src, dir, Options{Tools: Tools{Dump: script}})
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	pw, _ := sb.User.Password()
	for _, want := range []string{src.String(), "backup: mariadb-dump: exit status 2", "Lost connection"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, pw) {
		t.Error("password in the error")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("failed backup left %s: %v", dir, err)
	}

	// A load the client gives up on.
	if _, err := Backup(ctx, src, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	client := filepath.Join(t.TempDir(), "mariadb")
	body = "#!/bin/sh\nif [ \"$1\" = --version ]; then exec /usr/bin/mariadb --version; fi\ncat >/dev/null\n" +
		"echo 'ERROR 1064 (42000) at line 7: You have an error in your SQL syntax' >&2\nexit 1\n"
	if err := os.WriteFile(client, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Restore(ctx, dir, Target{Server: src}, RestoreOptions{Tools: Tools{Client: client}})
	for _, want := range []string{src.String() + ": restore: mariadb: exit status 1", "ERROR 1064 (42000) at line 7", "restore again"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func connect(t *testing.T, sb *sandbox.Sandbox, in sandbox.Instance) *server.Server {
	t.Helper()
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	sv, err := server.New(server.Config{Name: in.Name, Host: "127.0.0.1", Port: in.Port, User: sb.User.Name, Password: server.Secret(pw)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Close() })
	return sv
}
