package bindings

import (
	"errors"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/deploy"
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
	failure   string           // the run's error before finish added the report to it
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
	if cfg.Locker != nil {
		r.locker = cfg.Locker
	}
	r.proc.Unknown = unknown
	r.proc.BeforeStep = cfg.BeforeStep
	if cfg.Verbose {
		r.proc.Log = cfg.Stderr
	}
	var observers procedure.Observers
	if cfg.Audit != nil {
		r.auditor = procedure.NewAudit(cfg.Audit)
		h := procedure.Header{Command: cfg.Command, DryRun: cfg.DryRun, Version: Version}
		if d := cfg.Deployment; d != nil {
			h.Deployment = d.Path
			r.auditor.Scrub(deploymentSecrets(d)...)
		}
		r.auditor.Begin(h)
		observers = append(observers, r.auditor)
		r.proc.Event = r.auditor.Event // every procedure, step, undo and rollback
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

// deploymentSecrets are the passwords of a deployment, which its audit
// log never shows.
func deploymentSecrets(d *deploy.Deployment) []string {
	out := []string{d.User.Password.Reveal(), d.ReplUser.Password.Reveal()}
	for _, sv := range d.Servers {
		if sv.User != nil {
			out = append(out, sv.User.Password.Reveal())
		}
	}
	return out
}

// EndAudit writes the audit log's last line for the run: its exit code,
// duration and outcome (err, nil on success). The caller picks the code.
func (s *State) EndAudit(code int, err error) {
	if s.auditor == nil {
		return
	}
	var re *RunError
	if errors.As(err, &re) && s.failure != "" {
		err = errors.New(s.failure)
	}
	s.auditor.End(code, err)
}

// release gives back the run's locks.
func (r *runState) release() {
	for _, l := range r.locks {
		l.Release()
	}
	r.locks = nil
}
