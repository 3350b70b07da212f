package tests

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// watch killed (kill -9) in the middle of its own failover leaves a run
// with no end in the audit trail. The next watch on that trail reports
// the run and its last step, and does not fail over again on its own
// although the primary is still dead: the cluster is half done (the
// receivers stopped, nobody promoted) and an operator must look first.
// Cleared, it finishes the job.
func TestWatchKilledDuringItsFailover(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.jsonl")
	play := filepath.Join(dir, "slow.lua")
	// The bundled failover, held just before the promotion: the moment
	// the kill is the most harmful, with the receivers already stopped.
	os.WriteFile(play, []byte(`local rep = require "replicant"
require("replicant.failover").run { dead = incident.server, confirm_timeout = 0,
  before_promote = function(ctx)
    print("about to promote " .. ctx.primary:name())
    rep.sleep("60s")
  end }
`), 0o644)
	first := startWatch(t, sb, "--audit", audit, "--playbook", play)
	signalPid(t, sb.Primary().Pid, syscall.SIGKILL)
	waitFor(t, "the failover to reach the promotion", func() bool { return first.count("about to promote ") == 1 })
	first.cmd.Process.Kill()
	<-first.done

	second := startWatch(t, sb, "--audit", audit)
	waitFor(t, "the hold", func() bool { return second.count("no automatic failover until cleared: run ") == 1 })
	st := second.status()
	if !strings.Contains(st.BlockReason, "has no end in the audit trail") ||
		!strings.Contains(st.BlockReason, `its last step was "stop the receivers of`) {
		t.Errorf("block reason: %q", st.BlockReason)
	}
	waitFor(t, "the suppressed incident", func() bool { return second.status().Suppressed != nil })
	time.Sleep(time.Second) // four more looks at the dead primary
	if st := second.status(); st.Failovers != 0 || second.count("failing over")-second.count("NOT failing over") != 0 {
		t.Fatalf("failed over again although a failover had not ended: %+v", st)
	}
	out := run(t, "", nil, "-d", sb.DeploymentPath, "-e",
		`local w = {} for _, n in ipairs({"db2", "db3"}) do
  if tonumber(rep.server(n):variable("read_only")) == 0 then table.insert(w, n) end end
return #w`)
	if out.code != 0 || strings.TrimSpace(out.stdout) != "0" {
		t.Fatalf("a survivor took writes while the failover was held: %+v", out)
	}

	// The operator clears it from the command line; a wrong token first.
	bad := filepath.Join(dir, "bad-token")
	os.WriteFile(bad, []byte("not-the-token\n"), 0o600)
	if r := run(t, "", nil, "watch", "--clear", "--http", second.addr, "--http-token-file", bad); r.code != 1 ||
		!strings.Contains(r.stderr, "401") || second.status().BlockReason == "" {
		t.Fatalf("watch --clear with a wrong token: %+v", r)
	}
	if r := run(t, "", nil, "watch", "--clear", "--http", second.addr, "--http-token-file", second.tokenFile); r.code != 0 ||
		!strings.Contains(r.stdout, "watch at "+second.addr+": cleared") {
		t.Fatalf("watch --clear: %+v", r)
	}
	waitFor(t, "the failover after clear", func() bool { st := second.status(); return st.Last != nil && st.Last.Outcome != "" })
	if st := second.status(); st.Last.Outcome != "done" || st.Failovers != 1 {
		t.Fatalf("after clear: %+v", st)
	}
	out = run(t, "", nil, "-d", sb.DeploymentPath, "-e", `local t = rep.discover()
return t:primary():name() .. " " .. t:verdict().state`)
	if got := strings.Trim(strings.TrimSpace(out.stdout), `"`); out.code != 0 || (got != "db2 alive" && got != "db3 alive") {
		t.Errorf("after the failover: %+v", out)
	}
}
