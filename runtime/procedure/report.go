package procedure

import (
	"fmt"
	"strings"
)

// Report describes how a failed run ended: which steps ran, what was
// undone, nested procedures indented under the step that ran them, and
// for each procedure that failed after its point of no return, how to
// finish the job. A procedure that succeeded says nothing of its recovery:
// its job is done.
func (p *Procedure) Report() string {
	var b strings.Builder
	p.report(&b, "  ", true)
	return b.String()
}

func (p *Procedure) report(b *strings.Builder, indent string, failed bool) {
	steps := p.Steps()
	for i, s := range steps {
		state := "done"
		switch {
		case s.Err != nil && s.Outcome != "":
			state = "FAILED: " + s.Err.Error() + "; " + outcomeText(s)
		case s.Err != nil:
			state = "FAILED: " + s.Err.Error()
		case s.UndoErr != nil:
			state = "done, UNDO FAILED: " + s.UndoErr.Error()
		case s.Undone:
			state = "done, then undone"
		}
		if s.Child != nil {
			fmt.Fprintf(b, "%s%d. procedure %s: %s\n", indent, i+1, s.Name, state)
			s.Child.report(b, indent+"   ", s.Err != nil)
			continue
		}
		fmt.Fprintf(b, "%s%d. %s: %s\n", indent, i+1, s.Name, state)
	}
	past, recovery := p.Recovery()
	if !failed || !past {
		return
	}
	// Under the line that names it, when nested: "The procedure" is this one.
	fmt.Fprintf(b, "%sThe procedure failed after its point of no return: nothing was undone.\n", indent)
	if recovery != "" {
		fmt.Fprintf(b, "%sTo finish the job: %s\n", indent, recovery)
	}
}

// outcomeText says what the engine concluded of a step that failed with
// its outcome unknown, and what its undo did.
func outcomeText(s StepRecord) string {
	var what string
	switch s.Outcome {
	case OutcomeApplied:
		what = "its check found it took effect"
	case OutcomeNotApplied:
		return "its check found it took no effect"
	default:
		what = "its outcome is unknown, so it counts as done"
		if s.CheckErr != nil {
			what = "its check failed (" + s.CheckErr.Error() + "), so it counts as done"
		}
	}
	switch {
	case s.UndoErr != nil:
		return what + "; UNDO FAILED: " + s.UndoErr.Error()
	case s.Undone:
		return what + "; undone"
	case s.Undo:
		return what + "; not undone"
	}
	return what + "; it has no undo: check it by hand"
}

// Failed is the innermost procedure that a failure ended, and whether it
// had passed its point of no return, with its recovery text: what an
// operator needs first.
func (p *Procedure) Failed() (name string, past bool, recovery string) {
	name = p.Name
	past, recovery = p.Recovery()
	// The failure came out of the last step when that step is a child that
	// failed; a child that failed earlier was caught (pcall) and is not
	// what ended the run.
	steps := p.Steps()
	if n := len(steps); n > 0 && steps[n-1].Child != nil && steps[n-1].Err != nil {
		return steps[n-1].Child.Failed()
	}
	return name, past, recovery
}

// FlatStep is a step with the path of nested procedures that ran it
// ("rolling_restart / switchover"); empty for the top level's own steps.
type FlatStep struct {
	Procedure string
	StepRecord
}

// Flat lists every step of the tree in the order they ran, nested
// procedures replaced by their steps.
func (p *Procedure) Flat() []FlatStep {
	var out []FlatStep
	p.flat("", &out)
	return out
}

func (p *Procedure) flat(path string, out *[]FlatStep) {
	for _, s := range p.Steps() {
		if s.Child == nil {
			*out = append(*out, FlatStep{Procedure: path, StepRecord: s})
			continue
		}
		sub := s.Name
		if path != "" {
			sub = path + " / " + s.Name
		}
		s.Child.flat(sub, out)
	}
}
