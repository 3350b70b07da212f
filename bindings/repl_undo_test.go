package bindings

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// A REPL chunk that sets read_only in a step with an undo, then fails:
// the chunk is a procedure, so its step is undone and read_only is back
// off (it used to stay on: only a playbook's end ran the undo). The undo
// goes to the audit log one by one. A chunk that succeeds keeps its
// change.
func TestREPLFailedChunkIsUndone(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut, audit bytes.Buffer
	s := New(context.Background(), Config{Stdout: &out, Stderr: &errOut, Audit: &audit})
	t.Cleanup(s.Close)
	bindSandboxServers(t, s, sb, pw)
	in := &scriptReader{lines: []string{
		`rep.step("fence", function() DB1:set_read_only(true) end, function() DB1:set_read_only(false) end)`,
		`error("the chunk fails after its step")`,
		`DB1:variable("read_only")`,
		`rep.step("fence again", function() DB1:set_read_only(true) end, function() DB1:set_read_only(false) end); error("boom")`,
		`DB1:variable("read_only")`,
		`rep.step("kept", function() DB1:set_read_only(true) end, function() DB1:set_read_only(false) end)`,
		`DB1:variable("read_only")`,
	}}
	if err := s.REPL(context.Background(), in, REPLOptions{}); err != nil {
		t.Fatal(err)
	}
	// The first chunk succeeded and keeps read_only on; the second fails
	// without a step of its own: nothing to undo. Then the fourth sets it
	// again (already on) and fails: its undo turns it off.
	if got, want := out.String(), "1\n0\n1\n"; got != want {
		t.Fatalf("read_only after each chunk: %q, want %q\nstderr:\n%s", got, want, errOut.String())
	}
	if !strings.Contains(errOut.String(), "1. fence again: done, then undone") {
		t.Errorf("no report of the undo:\n%s", errOut.String())
	}
	if !strings.Contains(audit.String(), `"type":"undo"`) || !strings.Contains(audit.String(), `"name":"fence again"`) {
		t.Errorf("undo not audited:\n%s", audit.String())
	}
}
