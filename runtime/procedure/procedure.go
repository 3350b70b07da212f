// Package procedure runs a procedure as named steps with undo: a step
// that changes a server registers how to put it back, and when a later
// step fails the undo actions run in reverse order, each with a fresh
// context so that a cancelled or timed-out run still rolls back (vitess
// planned_reparenter.go does the same with its undoCtx). After the point
// of no return nothing is undone; a failure then is reported with the
// state the procedure left and what finishes the job.
//
// Procedures nest: a playbook is one, and each procedure it runs (a
// switchover, then another) is a child with its own steps, its own point
// of no return and its own recovery text. A child that fails undoes its
// own steps only, and the failure goes on to its parent; a child that
// succeeds hands what it could still undo to its parent, as one step.
package procedure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Action is one thing a procedure does or undoes.
type Action func(ctx context.Context) error

// StepRecord is what happened to one step.
type StepRecord struct {
	Name     string
	Start    time.Time
	Duration time.Duration
	Err      error
	Undo     bool  // has an undo action
	Undone   bool  // its undo ran and succeeded
	UndoErr  error // its undo failed
	// Child is the procedure this step ran, for a nested procedure.
	Child *Procedure
}

// Procedure is one run's journal of steps and its undo stack. It is safe
// for use from one goroutine at a time (the Lua state's).
type Procedure struct {
	// Name is what the report calls the procedure ("switchover").
	Name string
	// UndoTimeout bounds each undo action; the run's own deadline may have
	// passed already.
	UndoTimeout time.Duration
	// Log receives one line per step, undo and milestone; nil discards.
	Log io.Writer
	// Event, when set, is told of every undo and its outcome (the audit
	// log): "undo" with details {"procedure", "error"}.
	Event func(typ, name string, details map[string]any)

	mu         sync.Mutex
	steps      []*StepRecord
	undo       []undoEntry
	pastReturn bool
	recovery   string // how to finish the job after the point of no return
	undone     bool
}

type undoEntry struct {
	step   *StepRecord
	action Action
}

// DefaultUndoTimeout is how long each undo action may take.
const DefaultUndoTimeout = 30 * time.Second

// New starts an empty journal.
func New(log io.Writer) *Procedure {
	return &Procedure{UndoTimeout: DefaultUndoTimeout, Log: log}
}

// Begin starts a nested procedure, recorded as a step of p. End it with
// End, on every path.
func (p *Procedure) Begin(name string) *Procedure {
	child := &Procedure{Name: name, UndoTimeout: p.UndoTimeout, Log: p.Log, Event: p.Event}
	rec := &StepRecord{Name: name, Start: time.Now(), Child: child}
	p.mu.Lock()
	p.steps = append(p.steps, rec)
	p.mu.Unlock()
	p.logf("procedure %s", name)
	return child
}

// End closes a nested procedure that err ended (nil: it succeeded). A
// failed child is rolled back now, and only it: its parent decides about
// its own steps. A child that succeeded before its point of no return
// hands its pending undo to p, as the undo of the step that ran it.
// End returns the child's undo failures, joined.
func (p *Procedure) End(child *Procedure, err error) error {
	p.mu.Lock()
	var rec *StepRecord
	for _, r := range p.steps {
		if r.Child == child {
			rec = r
		}
	}
	p.mu.Unlock()
	if rec == nil {
		return fmt.Errorf("procedure %q: End of a procedure Begin did not start", child.Name)
	}
	rec.Duration = time.Since(rec.Start)
	if err != nil {
		rec.Err = err
		p.logf("procedure %s failed after %s: %v", child.Name, rec.Duration.Round(time.Millisecond), err)
		return child.Rollback()
	}
	if child.Pending() > 0 {
		rec.Undo = true
		p.mu.Lock()
		if !p.pastReturn {
			p.undo = append(p.undo, undoEntry{step: rec, action: func(context.Context) error { return child.Rollback() }})
		}
		p.mu.Unlock()
	}
	return nil
}

func (p *Procedure) event(typ, name string, details map[string]any) {
	if p.Event != nil {
		details["procedure"] = p.Name
		p.Event(typ, name, details)
	}
}

func (p *Procedure) logf(format string, args ...any) {
	if p.Log != nil {
		fmt.Fprintf(p.Log, format+"\n", args...)
	}
}

// Step runs do now. When it succeeds and undo is not nil, undo is kept
// until the point of no return, to run if a later step fails. A failed
// step's own undo is not run: do must leave things as it found them when
// it fails, or say what it left in its error.
func (p *Procedure) Step(ctx context.Context, name string, do, undo Action) error {
	rec := &StepRecord{Name: name, Start: time.Now(), Undo: undo != nil}
	p.mu.Lock()
	p.steps = append(p.steps, rec)
	p.mu.Unlock()
	p.logf("step %d: %s", len(p.steps), name)
	err := do(ctx)
	rec.Duration = time.Since(rec.Start)
	if err != nil {
		rec.Err = err
		p.logf("step %d: %s failed after %s: %v", len(p.steps), name, rec.Duration.Round(time.Millisecond), err)
		return err
	}
	if undo != nil {
		p.mu.Lock()
		if !p.pastReturn {
			p.undo = append(p.undo, undoEntry{step: rec, action: undo})
		}
		p.mu.Unlock()
	}
	return nil
}

// PointOfNoReturn drops the undo stack: from here on the procedure only
// goes forward. recovery says how an operator finishes the job if a later
// step fails (a command line, or what to check).
func (p *Procedure) PointOfNoReturn(recovery string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pastReturn = true
	p.undo = nil
	p.recovery = recovery
	p.logf("point of no return reached")
}

// PastReturn reports whether the point of no return has been passed.
func (p *Procedure) PastReturn() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pastReturn
}

// Pending is how many undo actions would run now.
func (p *Procedure) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.undo)
}

// Rollback runs the pending undo actions in reverse order, each under a
// fresh context bounded by UndoTimeout, and carries on past a failed one
// (the rest may still put servers back). It returns the undo failures
// joined, or nil. It runs at most once.
func (p *Procedure) Rollback() error {
	p.mu.Lock()
	entries := p.undo
	p.undo = nil
	p.undone = true
	p.mu.Unlock()
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		ctx, cancel := context.WithTimeout(context.Background(), p.UndoTimeout)
		err := e.action(ctx)
		cancel()
		if err != nil {
			e.step.UndoErr = err
			errs = append(errs, fmt.Errorf("undo %q: %w", e.step.Name, err))
			p.logf("undo %s failed: %v", e.step.Name, err)
			p.event("undo", e.step.Name, map[string]any{"error": err.Error()})
			continue
		}
		e.step.Undone = true
		p.logf("undo %s: done", e.step.Name)
		p.event("undo", e.step.Name, map[string]any{"state": "done"})
	}
	return errors.Join(errs...)
}

// Recovery says whether the procedure passed its point of no return, and
// how to finish the job from there.
func (p *Procedure) Recovery() (past bool, how string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pastReturn, p.recovery
}

// Steps returns a copy of the journal.
func (p *Procedure) Steps() []StepRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]StepRecord, len(p.steps))
	for i, s := range p.steps {
		out[i] = *s
	}
	return out
}
