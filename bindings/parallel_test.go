package bindings

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// A pcall inside a rep.parallel item used to receive the yielded call
// (true and a userdata) instead of its result: the call never ran.
func TestParallelPcallRunsTheCall(t *testing.T) {
	s, out := newTestState(t)
	err := s.RunString(`
local rep = require "replicant"
local res, all = rep.parallel({1, 2}, function(i)
  local ok, err = pcall(rep.sleep, "not a duration")
  assert(not ok, "pcall of a failing call returned true")
  assert(type(err) == "string" and err:find("not a duration"), "wrong error: " .. tostring(err))
  local ok2, v = pcall(rep.sleep, 0)
  assert(ok2 and v == nil, "pcall returned " .. tostring(ok2) .. ", " .. tostring(v))
  local ok3, v3 = rep.try(function() rep.sleep(0); return i * 10 end)
  assert(ok3 and v3 == i * 10, "rep.try returned " .. tostring(v3))
  return i
end)
for _, r in ipairs(res) do if not r.ok then error(tostring(r.err)) end end
print(all, res[1].value, res[2].value)
`, "test.lua")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "true\t1\t2" {
		t.Fatalf("output %q", got)
	}
}

// rep.step inside rep.parallel, then a failure: the steps' undo runs (it
// used to panic on the closed coroutine, or fail with makeslice).
func TestParallelStepIsUndone(t *testing.T) {
	s, _ := newTestState(t)
	err := s.RunString(`
local rep = require "replicant"
undone = 0
rep.parallel({1, 2, 3}, function(i)
  rep.step("item " .. i, function() rep.sleep(0) end, function() rep.sleep(0); undone = undone + 1 end)
end)
error("later failure")
`, "test.lua")
	if err == nil || !strings.Contains(err.Error(), "later failure") {
		t.Fatalf("error %v", err)
	}
	if got := s.L.GetGlobal("undone").String(); got != "3" {
		t.Fatalf("undone %s of 3; error: %v", got, err)
	}
	for i := 1; i <= 3; i++ {
		if !strings.Contains(err.Error(), fmt.Sprintf("item %d: done, then undone", i)) {
			t.Errorf("report lacks item %d undone: %v", i, err)
		}
	}
}

// Each rep.parallel call used to keep about 740 bytes for the run (the
// dropped cancel functions of its threads' contexts). After 100,000 calls
// the heap must be where it was.
func TestParallelMemoryIsFlat(t *testing.T) {
	s, _ := newTestState(t)
	run := func(n int) {
		code := fmt.Sprintf(`local rep = require "replicant"
for i = 1, %d do rep.parallel({1}, function(x) rep.sleep(0); return x end) end`, n)
		if err := s.RunString(code, "test.lua"); err != nil {
			t.Fatal(err)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	run(1000)
	before := heap()
	run(100000)
	after := heap()
	growth := int64(after) - int64(before)
	t.Logf("heap before %d, after 100000 rep.parallel calls %d: %+d bytes", before, after, growth)
	// 740 bytes a call would be 74 MB; allow noise of a few MiB.
	if growth > 4<<20 {
		t.Fatalf("heap grew by %d bytes over 100000 calls", growth)
	}
}

// --wait-timeout 2m used to be refused by the command line's own regex.
func TestDurationOneParser(t *testing.T) {
	s, out := newTestState(t)
	err := s.RunString(`
local rep = require "replicant"
local cli = require "replicant.cli"
print(rep.duration("2m"), rep.duration("1h30m"), rep.duration("500ms"), rep.duration("30"), rep.duration(1.5))
local o = cli.parse({"--wait-timeout", "2m"}, {wait_timeout = "duration"}, "test")
print(o.wait_timeout)
print(pcall(cli.parse, {"--wait-timeout", "soon"}, {wait_timeout = "duration"}, "test"))
print(pcall(rep.duration, "-3s"))
`, "test.lua")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"120\t5400\t0.5\t30\t1.5", "120", `false	test.lua:7: test: --wait-timeout: "soon" is not a duration like "30s", "2m" or "500ms" (or bare seconds)`}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Fatalf("line %d: got %q, want %q (all: %q)", i, lines[min(i, len(lines)-1)], w, lines)
		}
	}
	if len(lines) < 4 || !strings.Contains(lines[3], "negative duration") {
		t.Fatalf("negative duration accepted: %q", lines)
	}
}
