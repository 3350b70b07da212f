package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// The Lua test files of tests/testfiles (each fault primitive of
// replicant.test, its effect observed and undone; on_step; watch) and the
// README's example (examples/tests: a playbook that drains HAProxy,
// tested against a SIGSTOPped primary) pass through `replicant-lua test`.
func TestLuaTestFiles(t *testing.T) {
	r := run(t, "", nil, "test", "-j", "2", "testfiles", filepath.Join("..", "examples", "tests"))
	files, _ := filepath.Glob("testfiles/*_test.lua")
	examples, _ := filepath.Glob("../examples/tests/*_test.lua")
	want := strconv.Itoa(len(files)+len(examples)) + " passed, 0 failed\n"
	if r.code != 0 || !strings.HasSuffix(r.stdout, want) || len(examples) == 0 {
		t.Fatalf("exit %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
	for _, f := range append(files, examples...) {
		name := strings.TrimSuffix(filepath.Base(f), ".lua")
		if !strings.Contains(r.stdout, "ok   "+name+" (") {
			t.Errorf("no line for %s:\n%s", name, r.stdout)
		}
	}
	t.Logf("\n%s", r.stdout)
}

// A failing test file says where and what, both sides; with --keep its
// sandbox stays up with its faults undone: the server it paused answers.
// Misuses of the kit are errors that name the call.
func TestLuaTestFileFailureUndoesItsFaults(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"fails_test.lua": `local t = require "replicant.test"
t.topology { servers = 2 }
t.pause("db1")
t.eq(1 + 1, 3, "one and one")
`,
		"twice_test.lua": `local t = require "replicant.test"
t.topology { servers = 1 }
t.topology { servers = 1 }
`,
		"nocut_test.lua": `local t = require "replicant.test"
t.topology { servers = 1 }
t.cut("db1", { from = "tool" })
`,
		"typo_test.lua": `local t = require "replicant.test"
t.topology { server = 2 }
`,
		"nosandbox_test.lua": `local t = require "replicant.test"
t.kill("db1")
`,
	}
	writeScenario(t, dir, files)
	r := run(t, "", nil, "test", "--keep", "-j", "2", dir)
	// The failed tests that had a sandbox are kept: their servers go at
	// the end, whatever fails below.
	all := regexp.MustCompile(`kept: replicant-lua -d (\S+)/deployment.lua`).FindAllStringSubmatch(r.stdout, -1)
	for _, k := range all {
		if sb, err := sandbox.Load(k[1]); err == nil {
			t.Cleanup(func() {
				for _, in := range sb.Instances {
					if alive(in.Pid) {
						syscall.Kill(in.Pid, syscall.SIGCONT)
						syscall.Kill(in.Pid, syscall.SIGKILL)
					}
				}
				os.RemoveAll(filepath.Dir(filepath.Dir(k[1]))) // the run's folder
			})
		}
	}
	for _, want := range []string{
		"FAIL fails_test (", "fails_test.lua:4:", "one and one: got 2, want 3",
		"FAIL twice_test (", "twice_test.lua:3: t.topology: once per test file",
		"FAIL nocut_test (", "nocut_test.lua:3: t.cut: db1: the topology has no proxies to cut: t.topology{ proxies = true }",
		"FAIL typo_test (", "typo_test.lua:2: t.topology: unknown option server (did you mean servers?)",
		"FAIL nosandbox_test (", "t.kill: no sandbox yet: call t.topology{...} first",
		"0 passed, 5 failed",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if r.code != 1 || t.Failed() {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if len(all) != 3 {
		t.Errorf("%d kept sandboxes, want 3 (fails, twice, nocut):\n%s", len(all), r.stdout)
	}
	m := regexp.MustCompile(`kept: replicant-lua -d (\S+/fails_test/sandbox)/deployment.lua`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no kept line for fails_test:\n%s", r.stdout)
	}
	kept, err := sandbox.Load(m[1])
	if err != nil || len(kept.Instances) != 2 {
		t.Fatalf("the kept sandbox %s: %v", m[1], err)
	}
	var pids []int
	for _, in := range kept.Instances {
		pids = append(pids, in.Pid)
	}
	t.Cleanup(func() {
		for _, pid := range pids {
			if alive(pid) {
				syscall.Kill(pid, syscall.SIGCONT)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		os.RemoveAll(filepath.Dir(filepath.Dir(m[1]))) // the run's folder
	})
	stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pids[0]) + "/stat")
	if strings.Contains(string(stat), ") T ") {
		t.Errorf("db1 (pid %d) is still stopped after its test ended: %s", pids[0], stat)
	}
	st := run(t, "", nil, "-d", m[1]+"/deployment.lua", "-e", "print(rep.server('db1'):variable('server_id'))")
	if st.code != 0 || strings.TrimSpace(st.stdout) != "1" {
		t.Errorf("the kept db1 does not answer: %+v", st)
	}
	if down := run(t, "", nil, "sandbox", "down", "--dir", m[1], "--remove"); down.code != 0 {
		t.Errorf("sandbox down: %+v", down)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("a kept server (pid %d) runs after sandbox down", pid)
		}
	}
}

// Ctrl-C in the middle of a test file, one of its servers paused and its
// path cut: the servers are all stopped, none left hung.
func TestLuaTestFileInterruptedStopsItsServers(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "pids")
	writeScenario(t, dir, map[string]string{"slow_test.lua": `local t = require "replicant.test"
t.topology { servers = 3, proxies = true }
t.pause("db2")
t.cut("db3", { from = "replicas" })
local f = assert(io.open(os.getenv("MARKER"), "w"))
f:write(t.pid("db1"), " ", t.pid("db2"), " ", t.pid("db3"), "\n"); f:close()
rep.sleep("60s")
`})
	interruptTest(t, marker, "FAIL slow_test", filepath.Join(dir, "slow_test.lua"))
}
