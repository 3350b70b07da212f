package machine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeSystemd puts a test double of systemctl and journalctl first on PATH
// (this machine runs no systemd). systemctl records its arguments in
// DIR/calls; for verb V it prints DIR/V.out and DIR/V.err and exits with
// the code in DIR/V.code (0 when absent), after sleeping DIR/V.sleep
// seconds.
type fakeSystemd struct {
	dir string
}

func newFakeSystemd(t *testing.T) *fakeSystemd {
	dir := t.TempDir()
	fakeCommand(t, dir, "systemctl", `d=$(dirname "$0")
printf '%s\n' "$*" >> "$d/calls"
verb=$2
[ -f "$d/$verb.sleep" ] && sleep "$(cat "$d/$verb.sleep")"
[ -f "$d/$verb.out" ] && cat "$d/$verb.out"
[ -f "$d/$verb.err" ] && cat "$d/$verb.err" >&2
[ -f "$d/$verb.code" ] && exit "$(cat "$d/$verb.code")"
exit 0
`)
	fakeCommand(t, dir, "journalctl", `d=$(dirname "$0")
printf 'journalctl %s\n' "$*" >> "$d/calls"
[ -f "$d/journal.code" ] && { echo "No journal files were opened due to insufficient permissions." >&2; exit 1; }
echo "Nov 24 05:00:00 db2 mariadbd[42]: [ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: Address already in use"
echo "Nov 24 05:00:00 db2 systemd[1]: mariadb@db2.service: Failed with result 'exit-code'."
`)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return &fakeSystemd{dir: dir}
}

// on sets what the fake does for verb.
func (f *fakeSystemd) on(t *testing.T, verb, stdout, stderr, code string) {
	for ext, text := range map[string]string{"out": stdout, "err": stderr, "code": code} {
		path := filepath.Join(f.dir, verb+"."+ext)
		os.Remove(path)
		if text != "" {
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func (f *fakeSystemd) calls(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join(f.dir, "calls"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(f.dir, "calls"))
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestSystemdVerbs(t *testing.T) {
	fake := newFakeSystemd(t)
	m, err := NewSystemd(SystemdOptions{Service: "mariadb@db2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.String(); got != "systemd mariadb@db2" {
		t.Errorf("String() = %q", got)
	}
	ctx := testContext(t, 30*time.Second)
	for _, step := range []struct {
		run  func(context.Context) error
		want string
	}{{m.Start, "--no-ask-password start mariadb@db2"}, {m.Stop, "--no-ask-password stop mariadb@db2"}, {m.Restart, "--no-ask-password restart mariadb@db2"}} {
		if err := step.run(ctx); err != nil {
			t.Fatal(err)
		}
		if got := fake.calls(t); len(got) != 1 || got[0] != step.want {
			t.Errorf("calls = %q, want [%q]", got, step.want)
		}
	}
}

func TestSystemdStartFailureCarriesStderrAndJournal(t *testing.T) {
	fake := newFakeSystemd(t)
	fake.on(t, "start", "", "Job for mariadb@db2.service failed because the control process exited with error code.\nSee \"systemctl status mariadb@db2.service\" and \"journalctl -xeu mariadb@db2.service\" for details.\n", "1")
	m, _ := NewSystemd(SystemdOptions{Service: "mariadb@db2"})
	err := m.Start(testContext(t, 30*time.Second))
	t.Logf("Start: %v", err)
	contains(t, err, "systemd mariadb@db2: start: systemctl --no-ask-password start mariadb@db2: exit status 1: Job for mariadb@db2.service failed",
		"journalctl -u mariadb@db2 -n 20 --no-pager:", "Address already in use")
	if ce, ok := errors.AsType[*CommandError](err); !ok || ce.ExitCode != 1 {
		t.Errorf("want a *CommandError with exit code 1, got %#v", ce)
	}

	// A journal we may not read does not hide the start's own error.
	os.WriteFile(filepath.Join(fake.dir, "journal.code"), []byte("1"), 0o644)
	fake.on(t, "restart", "", "Failed to restart mariadb@db2.service: Access denied\n", "4")
	err = m.Restart(testContext(t, 30*time.Second))
	contains(t, err, "restart:", "Access denied", "could not read the journal", "insufficient permissions")
}

func TestSystemdRunning(t *testing.T) {
	fake := newFakeSystemd(t)
	m, _ := NewSystemd(SystemdOptions{Service: "mariadb"})
	ctx := testContext(t, 30*time.Second)
	for _, tt := range []struct {
		out, code string
		want      bool
	}{{"active\n", "", true}, {"activating\n", "3", true}, {"inactive\n", "3", false}, {"failed\n", "3", false}} {
		fake.on(t, "is-active", tt.out, "", tt.code)
		got, err := m.Running(ctx)
		if err != nil || got != tt.want {
			t.Errorf("is-active %q exit %q: Running = %v, %v; want %v", tt.out, tt.code, got, err, tt.want)
		}
	}
	fake.on(t, "is-active", "", "System has not been booted with systemd as init system (PID 1). Can't operate.\n", "1")
	_, err := m.Running(ctx)
	contains(t, err, "systemd mariadb: is-active:", "exit status 1", "not been booted with systemd")
	fake.on(t, "is-active", "unknown\n", "", "4")
	_, err = m.Running(ctx)
	contains(t, err, `state "unknown"`, "exit status 4")
}

func TestSystemdReadyAfterStart(t *testing.T) {
	newFakeSystemd(t)
	attempts := 0
	ready := func(ctx context.Context) error {
		if attempts++; attempts < 3 {
			return errors.New("connection refused")
		}
		return nil
	}
	m, _ := NewSystemd(SystemdOptions{Service: "mariadb", Ready: ready})
	if err := m.Start(testContext(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if attempts != 3 {
		t.Errorf("Ready called %d times, want 3", attempts)
	}
	never := func(ctx context.Context) error { return errors.New("connection refused") }
	m, _ = NewSystemd(SystemdOptions{Service: "mariadb", Ready: never})
	err := m.Start(testContext(t, time.Second))
	contains(t, err, "systemd mariadb: start: systemd started it, but not ready: context deadline exceeded (last attempt: connection refused)")
}

func TestSystemdTimeoutAndMissingCommand(t *testing.T) {
	fake := newFakeSystemd(t)
	os.WriteFile(filepath.Join(fake.dir, "stop.sleep"), []byte("30"), 0o644)
	m, _ := NewSystemd(SystemdOptions{Service: "mariadb"})
	err := m.Stop(testContext(t, 500*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop of a hanging systemctl: %v, want a deadline error", err)
	}
	contains(t, err, "systemd mariadb: stop: systemctl --no-ask-password stop mariadb: context deadline exceeded")

	t.Setenv("PATH", t.TempDir())
	err = m.Start(testContext(t, 10*time.Second))
	contains(t, err, "systemd mariadb: start:", `"systemctl": executable file not found in $PATH`)
}

func TestSystemdRejectsBadServiceNames(t *testing.T) {
	for _, s := range []string{"", "-H evil", "--global", "a b", "a/b", "x\n"} {
		if _, err := NewSystemd(SystemdOptions{Service: s}); err == nil {
			t.Errorf("service %q accepted", s)
		}
	}
}

// Kill, the fence of a hung server: SIGKILL to the unit's processes
// (stop alone would follow its SIGTERM with SIGCONT and wake it, and
// MariaDB's unit never escalates to SIGKILL), then stop so that
// Restart=on-abnormal does not start it again, then is-active to confirm.
func TestSystemdKill(t *testing.T) {
	fake := newFakeSystemd(t)
	m, _ := NewSystemd(SystemdOptions{Service: "mariadb@db2"})
	var _ Killer = m
	ctx := testContext(t, 30*time.Second)
	fake.on(t, "is-active", "failed\n", "", "3")
	if err := m.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"--no-ask-password kill --signal=SIGKILL mariadb@db2", "--no-ask-password stop mariadb@db2",
		"--no-ask-password is-active mariadb@db2"}
	if got := fake.calls(t); !slices.Equal(got, want) {
		t.Errorf("calls = %q\nwant    %q", got, want)
	}

	fake.on(t, "is-active", "active\n", "", "")
	contains(t, m.Kill(ctx), "systemd mariadb@db2: kill: the unit is still active after SIGKILL and stop")
	fake.calls(t)

	fake.on(t, "kill", "", "Failed to kill unit mariadb@db2.service: Access denied\n", "1")
	contains(t, m.Kill(ctx), "systemd mariadb@db2: kill: systemctl --no-ask-password kill --signal=SIGKILL mariadb@db2: exit status 1", "Access denied")
	if got := fake.calls(t); len(got) != 1 {
		t.Errorf("after a failed kill: calls = %q, want the kill only", got)
	}
}
