package procedure

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// record returns an action that appends name to *log.
func record(log *[]string, name string, err error) Action {
	return func(context.Context) error {
		*log = append(*log, name)
		return err
	}
}

func TestUndoRunsInReverseAndGoesPastFailures(t *testing.T) {
	var log []string
	var events []string
	p := New(nil)
	p.Event = func(typ, name string, d map[string]any) {
		if typ == "undo" && d["state"] != StateStarted {
			events = append(events, typ+" "+name+" "+toString(d))
		}
	}
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c"} {
		var undoErr error
		if n == "b" {
			undoErr = errors.New("b would not go back")
		}
		if err := p.Step(ctx, n, record(&log, "do "+n, nil), record(&log, "undo "+n, undoErr)); err != nil {
			t.Fatal(err)
		}
	}
	err := p.Rollback(nil)
	if want := "do a,do b,do c,undo c,undo b,undo a"; strings.Join(log, ",") != want {
		t.Fatalf("order %v, want %s", log, want)
	}
	if err == nil || !strings.Contains(err.Error(), `undo "b": b would not go back`) {
		t.Fatalf("undo error %v", err)
	}
	rep := p.Report()
	for _, want := range []string{"1. a: done, then undone", "2. b: done, UNDO FAILED: b would not go back", "3. c: done, then undone"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	if len(events) != 3 || !strings.Contains(events[1], "undo b") || !strings.Contains(events[1], "b would not go back") {
		t.Errorf("undo events, one per undo with its error: %q", events)
	}
}

func toString(d map[string]any) string {
	var parts []string
	for k, v := range d {
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	return strings.Join(parts, " ")
}

func TestPointOfNoReturnDropsUndo(t *testing.T) {
	var log []string
	p := New(nil)
	ctx := context.Background()
	p.Step(ctx, "a", record(&log, "do a", nil), record(&log, "undo a", nil))
	p.PointOfNoReturn("run rejoin")
	p.Step(ctx, "b", record(&log, "do b", nil), record(&log, "undo b", nil))
	if p.Pending() != 0 {
		t.Fatalf("pending %d after the point of no return", p.Pending())
	}
	p.Step(ctx, "c", record(&log, "do c", errors.New("c broke")), nil)
	p.Rollback(nil)
	if strings.Join(log, ",") != "do a,do b,do c" {
		t.Fatalf("ran %v", log)
	}
	if rep := p.Report(); !strings.Contains(rep, "To finish the job: run rejoin") || !strings.Contains(rep, "3. c: FAILED: c broke") {
		t.Fatalf("report:\n%s", rep)
	}
}

// Two switchovers in one playbook: the first passes its point of no
// return and succeeds, the second fails before its own. The second's
// steps are undone, the first's stay, and the report gives neither's
// recovery text (the second was undone, the first is done).
func TestNestedProceduresHaveTheirOwnJournal(t *testing.T) {
	var log []string
	ctx := context.Background()
	root := New(nil)
	root.Name = "playbook.lua"
	root.Step(ctx, "outer", record(&log, "do outer", nil), record(&log, "undo outer", nil))

	first := root.Begin("switchover")
	first.Step(ctx, "fence db1", record(&log, "fence db1", nil), record(&log, "unfence db1", nil))
	first.PointOfNoReturn("first: make db2 writable")
	first.Step(ctx, "repoint", record(&log, "repoint", nil), record(&log, "unrepoint", nil))
	if err := root.End(first, nil); err != nil {
		t.Fatal(err)
	}

	second := root.Begin("switchover")
	second.Step(ctx, "fence db2", record(&log, "fence db2", nil), record(&log, "unfence db2", nil))
	if second.PastReturn() {
		t.Fatal("the second switchover inherited the first's point of no return")
	}
	failure := errors.New("hook raised at fence db2: FLUSH TABLES")
	if err := root.End(second, failure); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, ","); got != "do outer,fence db1,repoint,fence db2,unfence db2" {
		t.Fatalf("a failed inner procedure must undo its own steps only: %s", got)
	}
	// The playbook fails too: its own step is undone, the first
	// switchover (past its point of no return) is not.
	root.Rollback(nil)
	if got := strings.Join(log, ","); !strings.HasSuffix(got, "unfence db2,undo outer") {
		t.Fatalf("root undo: %s", got)
	}
	rep := root.Report()
	for _, want := range []string{"1. outer: done, then undone", "2. procedure switchover: done",
		"   1. fence db1: done", "3. procedure switchover: FAILED: hook raised at fence db2", "     1. fence db2: done, then undone"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	if strings.Contains(rep, "first: make db2 writable") {
		t.Errorf("report gives the first switchover's recovery text:\n%s", rep)
	}
	if name, past, _ := root.Failed(); name != "switchover" || past {
		t.Errorf("failed procedure %q past=%v", name, past)
	}
}

// A failure after an inner procedure's point of no return names that
// procedure's recovery text, nested under it.
func TestNestedRecoveryText(t *testing.T) {
	ctx := context.Background()
	root := New(nil)
	child := root.Begin("switchover")
	child.PointOfNoReturn("promote db2 by hand")
	failure := errors.New("repoint failed")
	child.Step(ctx, "repoint", func(context.Context) error { return failure }, nil)
	root.End(child, failure)
	rep := root.Report()
	if !strings.Contains(rep, "   The procedure failed after its point of no return") ||
		!strings.Contains(rep, "   To finish the job: promote db2 by hand") {
		t.Fatalf("report:\n%s", rep)
	}
	if _, past, how := root.Failed(); !past || how != "promote db2 by hand" {
		t.Fatalf("Failed: %v %q", past, how)
	}
}

// An inner procedure that succeeded before any point of no return hands
// its undo to its parent: a later failure puts its servers back too.
func TestSucceededChildUndoneWithParent(t *testing.T) {
	var log []string
	ctx := context.Background()
	root := New(nil)
	child := root.Begin("relocate")
	child.Step(ctx, "a", record(&log, "do a", nil), record(&log, "undo a", nil))
	child.Step(ctx, "b", record(&log, "do b", nil), record(&log, "undo b", nil))
	root.End(child, nil)
	root.Step(ctx, "c", record(&log, "do c", nil), record(&log, "undo c", nil))
	root.Rollback(nil)
	if got := strings.Join(log, ","); got != "do a,do b,do c,undo c,undo b,undo a" {
		t.Fatalf("%s", got)
	}
}

// A step hook runs before its step, in nested procedures too, and is not
// counted in the step's duration.
func TestBeforeStepRunsBeforeEachStep(t *testing.T) {
	var log []string
	ctx := context.Background()
	root := New(nil)
	root.Name = "playbook.lua"
	root.BeforeStep = func(_ context.Context, proc, step string) { log = append(log, "hook "+proc+": "+step) }
	root.Step(ctx, "outer", record(&log, "do outer", nil), nil)
	child := root.Begin("failover")
	child.Step(ctx, "promote db2", record(&log, "do promote db2", nil), nil)
	root.End(child, nil)
	want := "hook playbook.lua: outer,do outer,hook failover: promote db2,do promote db2"
	if got := strings.Join(log, ","); got != want {
		t.Fatalf("order %s, want %s", got, want)
	}
}
