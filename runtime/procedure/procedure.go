// Package procedure runs a procedure as named steps with undo: a step
// that changes a server registers how to put it back, and when a later
// step fails the undo actions run in reverse order, each with a fresh
// context so that a cancelled or timed-out run still rolls back (vitess
// planned_reparenter.go does the same with its undoCtx). After the point
// of no return nothing is undone; a failure then is reported with the
// state the procedure left and what finishes the job.
package procedure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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
}

// Procedure is one run's journal of steps and its undo stack. It is safe
// for use from one goroutine at a time (the Lua state's).
type Procedure struct {
	// UndoTimeout bounds each undo action; the run's own deadline may have
	// passed already.
	UndoTimeout time.Duration
	// Log receives one line per step, undo and milestone; nil discards.
	Log io.Writer

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
			continue
		}
		e.step.Undone = true
		p.logf("undo %s: done", e.step.Name)
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

// Report describes how a failed run ended: which steps ran, what was
// undone, and after the point of no return, how to finish the job.
func (p *Procedure) Report() string {
	steps := p.Steps()
	past, recovery := p.Recovery()
	var b strings.Builder
	for i, s := range steps {
		state := "done"
		switch {
		case s.Err != nil:
			state = "FAILED: " + s.Err.Error()
		case s.UndoErr != nil:
			state = "done, UNDO FAILED: " + s.UndoErr.Error()
		case s.Undone:
			state = "done, then undone"
		}
		fmt.Fprintf(&b, "  %d. %s: %s\n", i+1, s.Name, state)
	}
	if past {
		b.WriteString("The procedure failed after its point of no return: nothing was undone.\n")
		if recovery != "" {
			b.WriteString("To finish the job: " + recovery + "\n")
		}
	}
	return b.String()
}
