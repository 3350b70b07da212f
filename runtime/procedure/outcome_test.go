package procedure

import (
	"context"
	"errors"
	"strings"
	"testing"
)

var errLost = errors.New("connection lost mid-statement")

// A step that fails with its outcome unknown counts as done: its undo
// runs at the rollback, unless its check finds it took no effect.
func TestUnknownOutcome(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		check    Check
		undone   bool
		outcome  string
		reported string
	}{
		{"known failure", errors.New("server said no"), nil, false, "", "FAILED: server said no\n"},
		{"unknown, no check", errLost, nil, true, OutcomeUnknown, "its outcome is unknown, so it counts as done; undone"},
		{"checked: applied", errLost, func(context.Context) (bool, error) { return true, nil }, true, OutcomeApplied,
			"its check found it took effect; undone"},
		{"checked: not applied", errLost, func(context.Context) (bool, error) { return false, nil }, false,
			OutcomeNotApplied, "its check found it took no effect"},
		{"check fails", errLost, func(context.Context) (bool, error) { return false, errors.New("no answer") }, true,
			OutcomeUnknown, "its check failed (no answer), so it counts as done; undone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var log []string
			p := New(nil)
			p.Unknown = func(err error) bool { return errors.Is(err, errLost) }
			ctx := context.Background()
			if err := p.Step(ctx, "fence", record(&log, "do fence", nil), record(&log, "undo fence", nil)); err != nil {
				t.Fatal(err)
			}
			err := p.CheckedStep(ctx, "promote", record(&log, "do promote", c.err), record(&log, "undo promote", nil), c.check)
			if !errors.Is(err, c.err) {
				t.Fatalf("step error %v, want %v", err, c.err)
			}
			if err := p.Rollback(nil); err != nil {
				t.Fatal(err)
			}
			want := "do fence,do promote,undo fence"
			if c.undone {
				want = "do fence,do promote,undo promote,undo fence"
			}
			if got := strings.Join(log, ","); got != want {
				t.Errorf("ran %s, want %s", got, want)
			}
			if got := p.Steps()[1].Outcome; got != c.outcome {
				t.Errorf("outcome %q, want %q", got, c.outcome)
			}
			if rep := p.Report(); !strings.Contains(rep, c.reported) {
				t.Errorf("report lacks %q:\n%s", c.reported, rep)
			}
		})
	}
}

// The check runs under a fresh context: the run's own has usually ended
// (a cancel or a timeout is what left the outcome unknown).
func TestCheckGetsAFreshContext(t *testing.T) {
	p := New(nil)
	p.Unknown = func(err error) bool { return errors.Is(err, context.Canceled) }
	ctx, cancel := context.WithCancel(context.Background())
	var checkErr error
	err := p.CheckedStep(ctx, "promote", func(context.Context) error { cancel(); return ctx.Err() }, nil,
		func(c context.Context) (bool, error) { checkErr = c.Err(); return true, nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("step error %v", err)
	}
	if checkErr != nil {
		t.Errorf("the check's context had ended: %v", checkErr)
	}
	if rep := p.Report(); !strings.Contains(rep, "it has no undo: check it by hand") {
		t.Errorf("a step with no undo and an applied effect must say so:\n%s", rep)
	}
}

// A step inside a nested procedure inherits the classification.
func TestNestedInheritsUnknown(t *testing.T) {
	var log []string
	p := New(nil)
	p.Unknown = func(err error) bool { return errors.Is(err, errLost) }
	child := p.Begin("switchover")
	err := child.Step(context.Background(), "promote", record(&log, "do", errLost), record(&log, "undo", nil))
	if err := p.End(child, err); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, ","); got != "do,undo" {
		t.Errorf("ran %s: the nested step with an unknown outcome was not undone", got)
	}
}
