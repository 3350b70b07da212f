package tests

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

func writeScenario(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// alive reports whether pid runs (a zombie counts as gone).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(b), ") Z ")
}

// `replicant-lua test` on a passing and a failing scenario: a line each,
// the summary, exit 1, a JUnit report that says the same; with --keep the
// failed scenario's servers stay up and the output says how to stop them.
func TestTestCommandReportsPassAndFail(t *testing.T) {
	dir := t.TempDir()
	writeScenario(t, filepath.Join(dir, "s", "passes"), map[string]string{
		"servers": "2\n", "args": "-e\nprint(rep.server('db2'):variable('read_only'))\n", "stdout": "1\n",
		"final.lua": `require("replicant.test").topology_is("db1", { "db2" })` + "\n"})
	writeScenario(t, filepath.Join(dir, "s", "fails"), map[string]string{
		"servers": "1\n", "args": "-e\nprint('hello')\n", "stdout": "goodbye\n"})
	junit := filepath.Join(dir, "report.xml")
	r := run(t, "", nil, "test", "-j", "2", "--keep", "--junit", junit, filepath.Join(dir, "s"))
	out := r.stdout
	if r.code != 1 || !strings.Contains(out, "ok   passes (") || !strings.Contains(out, "FAIL fails (") ||
		!strings.Contains(out, `stdout lacks "goodbye"`) || !strings.HasSuffix(out, "1 passed, 1 failed\n") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, out, r.stderr)
	}
	var report struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, err := os.ReadFile(junit)
	if err != nil || xml.Unmarshal(b, &report) != nil || len(report.Suites) != 1 {
		t.Fatalf("junit %s: %v\n%s", junit, err, b)
	}
	s := report.Suites[0]
	if s.Tests != 2 || s.Failures != 1 || len(s.Cases) != 2 || s.Cases[0].Name != "fails" || s.Cases[0].Failure == nil ||
		!strings.Contains(s.Cases[0].Failure.Message, "stdout lacks") || s.Cases[1].Failure != nil {
		t.Errorf("junit report: %+v\n%s", s, b)
	}
	m := regexp.MustCompile(`kept: replicant-lua -d (\S+)/deployment.lua; stop it with: replicant-lua sandbox down --dir (\S+) --remove`).FindStringSubmatch(out)
	if m == nil || strings.Contains(out, "kept: replicant-lua -d "+filepath.Dir(m[1])+"/passes") {
		t.Fatalf("--keep: no kept line for the failure alone:\n%s", out)
	}
	kept, err := sandbox.Load(m[2])
	if err != nil || len(kept.Instances) != 1 {
		t.Fatalf("the kept sandbox %s: %v", m[2], err)
	}
	pid := kept.Instances[0].Pid
	t.Cleanup(func() { // whatever happens below, the kept server goes
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		os.RemoveAll(filepath.Dir(m[2])) // the kept run's folder: the template
	})
	st := run(t, "", nil, "-d", m[1]+"/deployment.lua", "-e", "print(rep.server('db1'):variable('server_id'))")
	if st.code != 0 || strings.TrimSpace(st.stdout) != "1" || !alive(pid) {
		t.Errorf("the kept sandbox does not answer: %+v", st)
	}
	if down := run(t, "", nil, "sandbox", "down", "--dir", m[2], "--remove"); down.code != 0 {
		t.Errorf("sandbox down: %+v", down)
	}
	if _, err := os.Stat(m[2]); err == nil {
		t.Errorf("sandbox down --remove left %s", m[2])
	}
	if alive(pid) {
		t.Errorf("the kept server (pid %d) runs after sandbox down", pid)
	}
}

// Ctrl-C in the middle of a scenario stops its servers: none is left.
func TestTestCommandInterruptedStopsItsServers(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "pids")
	writeScenario(t, filepath.Join(dir, "slow"), map[string]string{
		"args": "-e\nprint(1)\n",
		"setup.lua": `local f = assert(io.open(os.getenv("MARKER"), "w"))
f:write(os.getenv("DB1_PID"), " ", os.getenv("DB2_PID"), " ", os.getenv("DB3_PID"), "\n"); f:close()
require("replicant").sleep("60s")
`})
	interruptTest(t, marker, "interrupted", filepath.Join(dir, "slow"))
}

// interruptTest runs `replicant-lua test args...`, waits until the test
// wrote its 3 server pids to marker, sends SIGINT, and fails unless the
// run ends within 60 s, non-zero, with want in its output, and none of
// the servers runs.
func interruptTest(t *testing.T, marker, want string, args ...string) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"test"}, args...)...)
	cmd.Env = append(os.Environ(), "MARKER="+marker)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var pids []int
	waitFor(t, "the test's servers and faults", func() bool {
		b, _ := os.ReadFile(marker)
		pids = nil
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil && p > 0 {
				pids = append(pids, p)
			}
		}
		return len(pids) == 3
	})
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("test did not stop within 60 s of SIGINT:\n%s", out)
	}
	if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(out.String(), want) {
		t.Errorf("exit %d, want non-zero and %q:\n%s", cmd.ProcessState.ExitCode(), want, out)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("server pid %d still runs after the interrupted test:\n%s", p, out)
			syscall.Kill(p, syscall.SIGCONT)
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}
