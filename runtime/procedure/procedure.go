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

// Check reads whether a step's effect is in place. It is asked when the
// step failed in a way that leaves its outcome unknown (the statement may
// have reached the server: a timeout, a cancel, a lost connection), and it
// must give a final answer: a check that cannot be sure returns an error.
type Check func(ctx context.Context) (applied bool, err error)

// Outcomes of a failed step (StepRecord.Outcome).
const (
	// OutcomeUnknown: the step may have taken effect, and no check said
	// otherwise; it is treated as done, so its undo runs at a rollback.
	OutcomeUnknown = "unknown"
	// OutcomeApplied: its check found the effect in place: done.
	OutcomeApplied = "applied"
	// OutcomeNotApplied: its check found no effect: nothing to undo.
	OutcomeNotApplied = "not applied"
)

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
	// Outcome says, for a step that failed with its outcome unknown,
	// what the engine concluded (an Outcome constant); "" for a step that
	// succeeded or failed with no effect.
	Outcome  string
	CheckErr error // its check failed: the step counts as done
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
	// Event, when set, is told of every procedure, step, undo and
	// rollback as it starts and as it ends, with its state and duration
	// (the audit log): see the event method for the details.
	Event func(typ, name string, details map[string]any)
	// Unknown tells a failure that may have left its effect in place (the
	// statement was sent and no answer came back) from one that did not;
	// nil: every failure changed nothing.
	Unknown func(error) bool
	// BeforeStep, when set, is called before each step runs, with the
	// procedure's and the step's names: `replicant-lua test` lands a fault
	// there, mid-procedure (its on_step hooks). Nested procedures inherit it.
	BeforeStep func(ctx context.Context, procedure, step string)

	mu         sync.Mutex
	steps      []*StepRecord
	undo       []undoEntry
	pastReturn bool
	recovery   string // how to finish the job after the point of no return
	undone     bool
	cause      error // why Rollback ran, for the rollback of a nested procedure
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
	child := &Procedure{Name: name, UndoTimeout: p.UndoTimeout, Log: p.Log, Event: p.Event, Unknown: p.Unknown,
		BeforeStep: p.BeforeStep}
	rec := &StepRecord{Name: name, Start: time.Now(), Child: child}
	p.mu.Lock()
	p.steps = append(p.steps, rec)
	n := len(p.steps)
	p.mu.Unlock()
	p.logf("procedure %s", name)
	p.event("procedure", name, map[string]any{"state": StateStarted, "step": n})
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
		p.event("procedure", child.Name, map[string]any{"state": StateFailed, "duration_ms": Milliseconds(rec.Duration),
			"error": err.Error()})
		return child.Rollback(err)
	}
	pending := false
	if child.Pending() > 0 {
		rec.Undo = true
		p.mu.Lock()
		if !p.pastReturn {
			pending = true
			p.undo = append(p.undo, undoEntry{step: rec, action: func(context.Context) error { return child.Rollback(p.rollbackCause()) }})
		}
		p.mu.Unlock()
	}
	p.event("procedure", child.Name, map[string]any{"state": StateDone, "duration_ms": Milliseconds(rec.Duration),
		"undo_pending": pending})
	return nil
}

// States of a procedure, step, undo or rollback in its events.
const (
	StateStarted = "started"
	StateDone    = "done"
	StateFailed  = "failed"
)

// Milliseconds is d in milliseconds with microsecond precision, as the
// audit log writes durations.
func Milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (p *Procedure) rollbackCause() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cause
}

// event tells Event of a "procedure", "step", "undo" or
// "rollback": its name (the rollback's is the procedure's), the procedure
// it belongs to, and details: "state" (StateStarted, then StateDone or
// StateFailed) with "duration_ms" and "error" at the end; a step's "step"
// number, "undo" (it has one) and "undo_pending" (its undo is kept), and
// for a failed step whose outcome is unknown its "outcome"; a rollback's
// "pending" undo count and "cause", then "undone" and "undo_failed".
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
// step's own undo is not run when the failure changed nothing: do must
// leave things as it found them when it fails, or say what it left in its
// error. A failure whose outcome is unknown (see Unknown) counts as done:
// its undo is kept.
func (p *Procedure) Step(ctx context.Context, name string, do, undo Action) error {
	return p.CheckedStep(ctx, name, do, undo, nil)
}

// CheckedStep is Step for a step whose effect can be read back: when do
// fails with its outcome unknown, check says whether it took effect,
// under a fresh context bounded by UndoTimeout (the run's may have ended:
// a cancel is what left the outcome unknown). Applied, or a check that
// fails, counts as done and keeps undo; not applied keeps nothing.
func (p *Procedure) CheckedStep(ctx context.Context, name string, do, undo Action, check Check) error {
	rec := &StepRecord{Name: name, Start: time.Now(), Undo: undo != nil}
	p.mu.Lock()
	p.steps = append(p.steps, rec)
	n := len(p.steps)
	p.mu.Unlock()
	p.logf("step %d: %s", n, name)
	p.event("step", name, map[string]any{"state": StateStarted, "step": n, "undo": undo != nil})
	if p.BeforeStep != nil {
		p.BeforeStep(ctx, p.Name, name)
		rec.Start = time.Now() // the step's duration is its own, without the hook
	}
	err := do(ctx)
	rec.Duration = time.Since(rec.Start)
	if err == nil {
		p.event("step", name, map[string]any{"state": StateDone, "step": n, "duration_ms": Milliseconds(rec.Duration),
			"undo_pending": p.keep(rec, undo)})
		return nil
	}
	rec.Err = err
	p.logf("step %d: %s failed after %s: %v", n, name, rec.Duration.Round(time.Millisecond), err)
	failed := map[string]any{"state": StateFailed, "step": n, "duration_ms": Milliseconds(rec.Duration),
		"error": err.Error(), "undo_pending": false}
	if p.Unknown == nil || !p.Unknown(err) {
		p.event("step", name, failed)
		return err
	}
	rec.Outcome = OutcomeUnknown
	if check != nil {
		cctx, cancel := context.WithTimeout(context.Background(), p.UndoTimeout)
		applied, cerr := check(cctx)
		cancel()
		switch {
		case cerr != nil:
			rec.CheckErr = cerr
		case applied:
			rec.Outcome = OutcomeApplied
		default:
			rec.Outcome = OutcomeNotApplied
		}
	}
	// The failed line comes once the outcome is settled: it carries it,
	// and the duration is the step's own, without its check.
	failed["outcome"] = rec.Outcome
	if rec.CheckErr != nil {
		failed["check_error"] = rec.CheckErr.Error()
	}
	p.logf("step %d: %s: outcome %s", n, name, rec.Outcome)
	if rec.Outcome != OutcomeNotApplied {
		failed["undo_pending"] = p.keep(rec, undo)
	}
	p.event("step", name, failed)
	return err
}

// keep puts a done step's undo on the stack, unless the point of no
// return has passed, and reports whether it did.
func (p *Procedure) keep(rec *StepRecord, undo Action) bool {
	if undo == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.pastReturn {
		p.undo = append(p.undo, undoEntry{step: rec, action: undo})
		return true
	}
	return false
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
// (the rest may still put servers back). cause is the failure that called
// for it, for the audit log. It returns the undo failures joined, or nil.
// Each undo action runs at most once.
func (p *Procedure) Rollback(cause error) error {
	p.mu.Lock()
	entries := p.undo
	p.undo = nil
	p.undone = true
	p.cause = cause
	p.mu.Unlock()
	start := time.Now()
	begin := map[string]any{"state": StateStarted, "pending": len(entries)}
	if cause != nil {
		begin["cause"] = cause.Error()
	}
	p.event("rollback", p.displayName(), begin)
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		if err := p.undoOne(entries[i]); err != nil {
			errs = append(errs, err)
		}
	}
	end := map[string]any{"state": StateDone, "duration_ms": Milliseconds(time.Since(start)),
		"undone": len(entries) - len(errs), "undo_failed": len(errs)}
	if len(errs) > 0 {
		end["state"] = StateFailed
	}
	p.event("rollback", p.displayName(), end)
	return errors.Join(errs...)
}

// undoOne runs one undo action and records how it went.
func (p *Procedure) undoOne(e undoEntry) error {
	p.event("undo", e.step.Name, map[string]any{"state": StateStarted})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), p.UndoTimeout)
	err := e.action(ctx)
	cancel()
	d := Milliseconds(time.Since(start))
	if err != nil {
		e.step.UndoErr = err
		p.logf("undo %s failed: %v", e.step.Name, err)
		p.event("undo", e.step.Name, map[string]any{"state": StateFailed, "duration_ms": d, "error": err.Error()})
		return fmt.Errorf("undo %q: %w", e.step.Name, err)
	}
	e.step.Undone = true
	p.logf("undo %s: done", e.step.Name)
	p.event("undo", e.step.Name, map[string]any{"state": StateDone, "duration_ms": d})
	return nil
}

// displayName is the procedure's name, or "run" for a journal without one.
func (p *Procedure) displayName() string {
	if p.Name == "" {
		return "run"
	}
	return p.Name
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
