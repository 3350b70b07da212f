package machine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSSHRunQuotesEveryArgument(t *testing.T) {
	h := startSSHD(t).host(t)
	out, err := h.Run(testContext(t, time.Minute), append([]string{"printf", `%s\0`}, awkward...))
	if err != nil {
		t.Fatal(err)
	}
	if got := nulSplit(out); !slices.Equal(got, awkward) {
		t.Errorf("the remote command got %q\nwant %q", got, awkward)
	}
}

func TestSSHFiles(t *testing.T) {
	testHostFiles(t, startSSHD(t).host(t))
}

func TestSSHFailingCommandCarriesStderr(t *testing.T) {
	h := startSSHD(t).host(t)
	_, err := h.Run(testContext(t, time.Minute), []string{"sh", "-c", "echo 'ERROR 1045: Access denied' >&2; exit 3"})
	contains(t, err, "exit status 3: ERROR 1045: Access denied")
	if ce, ok := errors.AsType[*CommandError](err); !ok || ce.ExitCode != 3 || ce.Via != "ssh" {
		t.Errorf("want a *CommandError via ssh with exit code 3, got %#v", err)
	}
}

func TestSSHClosedPortFailsClearly(t *testing.T) {
	d := startSSHD(t)
	o := d.options()
	o.Port = freePort(t) // nothing listens there
	o.ConnectTimeout = 2 * time.Second
	h, err := NewSSH(o)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = h.Run(testContext(t, 10*time.Second), []string{"true"})
	t.Logf("after %s: %v", time.Since(start).Round(time.Millisecond), err)
	contains(t, err, "true: ssh failed (exit 255)", "Connection refused")
}

func TestSSHUnknownHostKeyIsRefused(t *testing.T) {
	d := startSSHD(t)
	o := d.options()
	o.Options = slices.DeleteFunc(slices.Clone(o.Options), func(s string) bool { return strings.HasPrefix(s, "UserKnownHostsFile=") })
	o.Options = append(o.Options, "UserKnownHostsFile="+filepath.Join(t.TempDir(), "empty"))
	h, _ := NewSSH(o)
	_, err := h.Run(testContext(t, 10*time.Second), []string{"true"})
	contains(t, err, "ssh failed (exit 255)", "Host key verification failed")
}

func TestSSHContextDeadline(t *testing.T) {
	h := startSSHD(t).host(t)
	start := time.Now()
	_, err := h.Run(testContext(t, time.Second), []string{"sleep", "30"})
	t.Logf("after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	contains(t, err, "sleep 30: context deadline exceeded")
}

func TestSSHRejectsOptionLikeDestinations(t *testing.T) {
	for _, d := range []string{"", "-oProxyCommand=touch /tmp/x", "a b", "host\n"} {
		if _, err := NewSSH(SSHOptions{Destination: d}); err == nil {
			t.Errorf("destination %q accepted", d)
		}
	}
	if _, err := NewSSH(SSHOptions{Destination: "h", Options: []string{"-F/x"}}); err == nil {
		t.Error("option -F/x accepted")
	}
	h, _ := NewSSH(SSHOptions{Destination: "ops@10.0.0.1", Port: 2222, Identity: "/k", Options: []string{"A=b"}})
	want := []string{"ssh", "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", "2222", "-i", "/k", "-o", "A=b", "--", "ops@10.0.0.1", "echo 'a b'"}
	if got := h.argv("echo 'a b'"); !slices.Equal(got, want) {
		t.Errorf("argv = %q\nwant   %q", got, want)
	}
	if got := h.String(); got != "ssh -p 2222 ops@10.0.0.1" {
		t.Errorf("String() = %q", got)
	}
}

// A mariadbd started and stopped over ssh: the remote side of a process
// machine (here the remote host is this one, so the test can check it).
func TestSSHProcessLifecycle(t *testing.T) {
	ts := newTestServer(t)
	d := startSSHD(t)
	p := newTestProcess(t, ts, ProcessOptions{Host: d.host(t)})
	ctx := testContext(t, 2*time.Minute)
	if !strings.HasPrefix(p.String(), "ssh -p ") || !strings.HasSuffix(p.String(), "(defaults file "+ts.defaultsFile+")") {
		t.Errorf("String() = %q", p)
	}
	start := time.Now()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: started in %s", p, time.Since(start).Round(time.Millisecond))
	wantRunning(t, p, true)
	pid := pidOf(t, ts)
	if sid := sessionOf(t, pid); sid != pid {
		t.Errorf("server started over ssh: session %d, want its own (%d)", sid, pid)
	}
	if err := p.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if pidOf(t, ts) == pid {
		t.Error("Restart kept the pid")
	}
	start = time.Now()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: stopped in %s", p, time.Since(start).Round(time.Millisecond))
	if got := serverPids(ts.defaultsFile); len(got) != 0 {
		t.Fatalf("servers still running: %v", got)
	}
	wantRunning(t, p, false)
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestSSHProcessBadOption(t *testing.T) {
	ts := newTestServer(t, "no-such-option = 1")
	d := startSSHD(t)
	p := newTestProcess(t, ts, ProcessOptions{Host: d.host(t)})
	err := p.Start(testContext(t, time.Minute))
	t.Logf("Start: %v", err)
	contains(t, err, "exited while starting", "last lines of "+ts.errorLog, "unknown variable 'no-such-option=1'")
	if got := serverPids(ts.defaultsFile); len(got) != 0 {
		t.Fatalf("a failed start left servers running: %v", got)
	}
}

// systemd on a remote host: systemctl runs over ssh (the fake one, by its
// absolute path: the remote PATH is sshd's).
func TestSSHSystemd(t *testing.T) {
	fake := newFakeSystemd(t)
	fake.on(t, "start", "", "Failed to start mariadb.service: Access denied\n", "1")
	d := startSSHD(t)
	m, err := NewSystemd(SystemdOptions{
		Service: "mariadb", Host: d.host(t),
		Systemctl: filepath.Join(fake.dir, "systemctl"), Journalctl: filepath.Join(fake.dir, "journalctl"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "ssh -p " + strconv.Itoa(d.Port) + " " + d.Destination() + " (systemd mariadb)"
	if m.String() != want {
		t.Errorf("String() = %q, want %q", m, want)
	}
	err = m.Start(testContext(t, time.Minute))
	contains(t, err, want+": start: ", "start mariadb: exit status 1: Failed to start mariadb.service: Access denied", "Address already in use")
	if err := m.Stop(testContext(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	calls := fake.calls(t)
	if len(calls) != 3 || calls[0] != "--no-ask-password start mariadb" || calls[2] != "--no-ask-password stop mariadb" {
		t.Errorf("calls = %q", calls)
	}
}

// New builds an ssh process machine from a Spec as a deployment file
// gives it.
func TestSpecSSHProcess(t *testing.T) {
	ts := newTestServer(t)
	d := startSSHD(t)
	m, err := New(Spec{
		SSH: d.Destination(), Port: d.Port, Identity: d.ClientKey, SSHConfig: "/dev/null",
		SSHOptions: d.Options(), DefaultsFile: ts.defaultsFile, Ready: ts.ready(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t, 2*time.Minute)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := m.ReadFile(ctx, ts.defaultsFile)
	if err != nil || !strings.Contains(string(b), "[mysqld]") {
		t.Errorf("ReadFile of the option file: %q, %v", b, err)
	}
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ts.pidFile); err == nil && len(serverPids(ts.defaultsFile)) != 0 {
		t.Fatal("server still running")
	}
}

// Kill over ssh: the SIGKILL of a stopped server goes through the remote
// shell and the check that it is gone reads the remote /proc.
func TestSSHProcessKillAStoppedServer(t *testing.T) {
	testKill(t, startSSHD(t).host(t))
}
