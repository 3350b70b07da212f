package tests

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// A scenario is a folder under tests/scenarios (gh-ost's localtests are the
// model): the files say what to set up, what to break, what to run and
// what must hold afterwards.
//
//	servers    sandbox size (default 3)
//	setup.lua  playbook run first (optional)
//	options    "name=value" lines: mysqld options of every server, after the
//	           sandbox's own (gtid-strict-mode=0 for MariaDB's default)
//	fault      one per line, after setup.lua (optional):
//	           "kill-primary": SIGKILL db1 and wait for it to go;
//	           "wrong-password NAME": the deployment gives NAME a wrong password
//	args       the run's arguments, one per line; "-d DEPLOYMENT" comes first
//	exit       the exit code wanted (default 0)
//	stdout     lines that must appear in stdout (optional)
//	stderr     lines that must appear in stderr (optional)
//	final.lua  playbook that checks the final state; must exit 0
//	again      arguments of a second run (idempotency), with again.stdout
//
// Playbooks get APP_PASSWORD and DB1_PID, DB2_PID, ... in their environment.
func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob("scenarios/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) { runScenario(t, dir) })
	}
}

func readLines(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func runScenario(t *testing.T, dir string) {
	n := 3
	if l := readLines(t, filepath.Join(dir, "servers")); len(l) > 0 {
		n, _ = strconv.Atoi(l[0])
	}
	opts := sandbox.Options{Servers: n, ServerOptions: map[string]string{}}
	for _, l := range readLines(t, filepath.Join(dir, "options")) {
		k, v, _ := strings.Cut(l, "=")
		opts.ServerOptions[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	sb := sandboxtest.Start(t, opts)
	appPW, err := sb.AppUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"APP_PASSWORD=" + appPW}
	for _, in := range sb.Instances {
		env = append(env, strings.ToUpper(in.Name)+"_PID="+strconv.Itoa(in.Pid))
	}
	dep := []string{"-d", sb.DeploymentPath, "--timeout", "2m"}
	playbook := func(name string) {
		p, _ := filepath.Abs(filepath.Join(dir, name))
		if _, err := os.Stat(p); err != nil {
			return
		}
		r := run(t, "", env, append(dep, "run", p)...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", name, r.code, r.stdout, r.stderr)
		}
	}
	playbook("setup.lua")
	for _, f := range readLines(t, filepath.Join(dir, "fault")) {
		switch words := strings.Fields(f); words[0] {
		case "kill-primary":
			killPrimary(t, sb)
		case "wrong-password":
			wrongPassword(t, sb.DeploymentPath, words[1])
		default:
			t.Fatalf("%s: unknown fault %q", dir, f)
		}
	}
	check := func(args []string, wantCode int, stdoutFile, stderrFile string) {
		r := run(t, "", env, append(dep, args...)...)
		if r.code != wantCode {
			t.Errorf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, wantCode, r.stdout, r.stderr)
		}
		for _, w := range readLines(t, filepath.Join(dir, stdoutFile)) {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", args, w, r.stdout)
			}
		}
		for _, w := range readLines(t, filepath.Join(dir, stderrFile)) {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, w, r.stderr)
			}
		}
		assertNoSecrets(t, sb, r.stdout, r.stderr)
	}
	code := 0
	if l := readLines(t, filepath.Join(dir, "exit")); len(l) > 0 {
		code, _ = strconv.Atoi(l[0])
	}
	check(readLines(t, filepath.Join(dir, "args")), code, "stdout", "stderr")
	if again := readLines(t, filepath.Join(dir, "again")); len(again) > 0 {
		check(again, 0, "again.stdout", "again.stderr")
	}
	playbook("final.lua")
}

// killPrimary ends db1 with SIGKILL, as a crash would, and waits until it
// is gone: the sandbox's servers are children of the test process.
func killPrimary(t *testing.T, sb *sandbox.Sandbox) { killPrimaryB(t, sb) }

func killPrimaryB(t testing.TB, sb *sandbox.Sandbox) {
	pid := sb.Primary().Pid
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if !strings.Contains(string(cmdline), "mariadbd") && !strings.Contains(string(cmdline), "mysqld") {
		t.Fatalf("pid %d is not db1's server: %q", pid, cmdline)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sv := connect(t, sb, sb.Primary())
	waitFor(t, "db1 to die", func() bool { return sv.Ping(context.Background()) != nil })
}

// wrongPassword gives server name a password of its own in the deployment
// file, a wrong one: the server runs, and refuses the tool's login, as
// after a rotated secret.
func wrongPassword(t *testing.T, deployment, name string) {
	b, err := os.ReadFile(deployment)
	if err != nil {
		t.Fatal(err)
	}
	entry := "    " + name + " = { host = \"127.0.0.1\", "
	text := string(b)
	if !strings.Contains(text, entry) {
		t.Fatalf("no entry %q in %s", entry, deployment)
	}
	text = strings.Replace(text, entry, entry+"user = { name = \"replicant\", password = \"not-the-password\" }, ", 1)
	if err := os.WriteFile(deployment, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
