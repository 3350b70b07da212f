package bindings

import (
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/procedure"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// runState is what one run owns and gives up when it ends: the journal of
// its procedures, the locks it holds, its audit trail and dry-run plan,
// the deadlines rep.deadlines set, and what the main chunk returned. The
// servers it talks to live in the Registry, which can outlive it.
type runState struct {
	proc     *procedure.Procedure // the procedure running now: the run's, or one nested in it
	chunks   int                  // REPL chunks evaluated, each a procedure
	auditor  *procedure.Audit
	plan     *procedure.Plan
	observer server.Observer // what every server reports its statements to
	progress server.Progress // what every server tells how its long waits go; nil for none
	locks    []procedure.Lock
	locker   procedure.Locker

	deadlines server.Deadlines // rep.deadlines: every server's, for the rest of the run
	results   []lua.LValue     // what the main chunk returned, for --json
	exit      *int             // set by os.exit
	started   time.Time
}

// newRunState starts a run's journal; unknown classifies step failures
// whose outcome is unknown (State.outcomeUnknown).
func newRunState(cfg Config, unknown func(error) bool) *runState {
	r := &runState{
		proc:     procedure.New(nil),
		locker:   procedure.GetLocker{},
		started:  time.Now(),
		progress: newProgress(cfg.Progress),
	}
	r.proc.Unknown = unknown
	if cfg.Verbose {
		r.proc.Log = cfg.Stderr
	}
	var observers procedure.Observers
	if cfg.Audit != nil {
		r.auditor = procedure.NewAudit(cfg.Audit)
		observers = append(observers, r.auditor)
		r.proc.Event = r.auditor.Event // each undo and its outcome, one by one
	}
	if cfg.DryRun {
		r.plan = &procedure.Plan{}
		observers = append(observers, r.plan)
	}
	if len(observers) > 0 {
		r.observer = observers
	}
	return r
}

// release gives back the run's locks.
func (r *runState) release() {
	for _, l := range r.locks {
		l.Release()
	}
	r.locks = nil
}
