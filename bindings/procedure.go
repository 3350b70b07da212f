package bindings

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/procedure"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// procedureFunctions are the module functions that support procedures.
func (s *State) procedureFunctions() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"step":               s.repStep,
		"procedure":          s.repProcedure,
		"point_of_no_return": s.repPointOfNoReturn,
		"try":                s.repTry,
		"now":                s.repNow,
		"duration":           s.repDuration,
		"lock":               s.repLock,
		"dry_run":            func(L *lua.LState) int { L.Push(lua.LBool(s.cfg.DryRun)); return 1 },
		"shell":              s.repShell,
		"unix_request":       s.repUnixRequest,
		"confirm":            s.repConfirm,
	}
}

// callLua calls fn with args under the current context and returns its
// results, or the error value it raised (unchanged, so error objects keep
// their fields). Inside rep.parallel the calls fn makes run in place: a
// coroutine cannot yield out of a protected call (see protectedCall).
func (s *State) callLua(L *lua.LState, fn *lua.LFunction, args ...lua.LValue) ([]lua.LValue, error) {
	s.protected[L]++
	defer s.unprotect(L)
	top := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), lua.MultRet, nil); err != nil {
		return nil, err
	}
	n := L.GetTop() - top
	out := make([]lua.LValue, n)
	for i := 0; i < n; i++ {
		out[i] = L.Get(top + 1 + i)
	}
	L.SetTop(top)
	return out, nil
}

// reraise throws again what a protected call caught.
func reraise(L *lua.LState, err error) {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) {
		L.Error(apiErr.Object, 0)
	}
	L.RaiseError("%v", err)
}

var stepOptions = optSpec{"check": optFunction}

// rep.step(name, do, undo, {check = fn}) runs do() now and returns its
// results. undo, when given, is kept until rep.point_of_no_return(): if
// the run fails later, the kept undo functions run in reverse order, each
// under a fresh deadline so that a cancelled or timed-out run still puts
// servers back.
//
// A do() that fails with a timeout or connection error object (or because
// the run was cancelled) may have changed the server: the statement can
// have reached it. Such a step counts as done, so its undo runs too,
// unless check is given: check() then reads, under a fresh deadline,
// whether the effect is in place and returns true or false; an error in
// check counts as done.
func (s *State) repStep(L *lua.LState) int {
	name := L.CheckString(1)
	do := L.CheckFunction(2)
	undo, _ := L.Get(3).(*lua.LFunction)
	if undo == nil && L.Get(3) != lua.LNil {
		L.ArgError(3, "undo must be a function or nil")
	}
	var check procedure.Check
	if L.GetTop() >= 4 {
		o := checkOptions(L, 4, "step", stepOptions)
		if fn, ok := o.value("check").(*lua.LFunction); ok {
			check = func(ctx context.Context) (bool, error) {
				out, err := s.withContext(ctx, func() ([]lua.LValue, error) { return s.callLua(s.L, fn) })
				if err != nil {
					return false, s.stepError(err)
				}
				if len(out) == 0 {
					return false, fmt.Errorf("check of %q returned nothing: want true or false", name)
				}
				b, ok := out[0].(lua.LBool)
				if !ok {
					return false, fmt.Errorf("check of %q returned a %s: want true or false", name, out[0].Type())
				}
				return bool(b), nil
			}
		}
	}
	var results []lua.LValue
	doAction := func(ctx context.Context) error {
		var err error
		results, err = s.callLua(L, do)
		return s.stepError(err)
	}
	var undoAction procedure.Action
	if undo != nil {
		undoAction = func(ctx context.Context) error {
			// On the main state: L may be a rep.parallel coroutine, closed
			// by the time the undo runs.
			_, err := s.withContext(ctx, func() ([]lua.LValue, error) { return s.callLua(s.L, undo) })
			return s.stepError(err)
		}
	}
	s.verifyLocks(L, name, s.proc.PastReturn())
	// The procedure tells the audit log of the step as it starts and ends.
	if err := s.proc.CheckedStep(L.Context(), name, doAction, undoAction, check); err != nil {
		reraise(L, err)
	}
	for _, v := range results {
		L.Push(v)
	}
	return len(results)
}

// rep.procedure(name, fn, ...) runs fn(...) as a procedure of its own,
// nested in the current one, and returns its results. Its steps, point of
// no return and recovery text are its own: when fn fails, its own steps
// are undone (and only those) and the error goes on; when it succeeds
// before a point of no return, what it could undo stays pending in the
// procedure around it. Every bundled procedure runs in one.
func (s *State) repProcedure(L *lua.LState) int {
	name := L.CheckString(1)
	fn := L.CheckFunction(2)
	args := make([]lua.LValue, 0, L.GetTop())
	for i := 3; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	parent := s.proc
	child := parent.Begin(name)
	s.proc = child
	results, err := s.callLua(L, fn, args...)
	s.proc = parent
	failure := s.stepError(err)
	if s.exit != nil && *s.exit == 0 {
		failure = nil // os.exit(0) keeps the changes, as at the end of a playbook
	}
	// End reports the procedure's end and its rollback to the audit log,
	// each undo with its result; the report shows the undo failures.
	_ = parent.End(child, failure)
	if err != nil {
		reraise(L, err)
	}
	for _, v := range results {
		L.Push(v)
	}
	return len(results)
}

// stepError keeps what a step's function raised (to raise it again) and
// reads as the error's message, without Lua's stack trace: that is what the
// procedure report shows.
type stepErr struct {
	text string
	err  error
}

func (e *stepErr) Error() string { return e.text }
func (e *stepErr) Unwrap() error { return e.err }

// outcomeUnknown tells a step failure that may have left its effect in
// place: a timeout or a lost connection (the statement may have reached
// the server and no answer came back), or the run cancelled under it. A
// failure while connecting (sent = false) reached nothing.
// Every other failure (the server answered with an error, a usage error,
// an error the script raised) changed nothing, by rep.step's contract.
func (s *State) outcomeUnknown(err error) bool {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) {
		if t, ok := isErrorObject(s.L, apiErr.Object); ok {
			kind := lua.LVAsString(t.RawGetString("kind"))
			unsent := t.RawGetString("sent") == lua.LFalse
			return (kind == kindTimeout || kind == kindConnection) && !unsent
		}
	}
	return s.ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (s *State) stepError(err error) error {
	if err == nil {
		return nil
	}
	return &stepErr{text: s.errorText(err), err: err}
}

// withContext runs fn with the Lua state's context replaced by ctx, for
// undo after the run's own context has ended.
func (s *State) withContext(ctx context.Context, fn func() ([]lua.LValue, error)) ([]lua.LValue, error) {
	old := s.L.Context()
	s.L.SetContext(ctx)
	defer s.L.SetContext(old)
	return fn()
}

// errorText is how a caught Lua error reads.
func (s *State) errorText(err error) string {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) {
		if t, ok := isErrorObject(s.L, apiErr.Object); ok {
			return formatErrorObject(t)
		}
		return apiErr.Object.String()
	}
	return err.Error()
}

// rep.point_of_no_return(recovery): from here on the procedure only goes
// forward; recovery says how to finish the job if a later step fails.
func (s *State) repPointOfNoReturn(L *lua.LState) int {
	recovery := L.OptString(1, "")
	s.verifyLocks(L, "point of no return", true)
	s.proc.PointOfNoReturn(recovery)
	s.audit("point_of_no_return", s.proc.Name, map[string]any{"procedure": s.proc.Name, "recovery": recovery})
	return 0
}

// rep.try(fn, ...) → true, results... or false, err: pcall for expected
// failures. Unlike pcall it does not swallow the end of the run: when the
// run's deadline passed or it was interrupted, the error goes on.
func (s *State) repTry(L *lua.LState) int {
	fn := L.CheckFunction(1)
	args := make([]lua.LValue, 0, L.GetTop()-1)
	for i := 2; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	results, err := s.callLua(L, fn, args...)
	if err != nil {
		if L.Context().Err() != nil {
			reraise(L, err)
		}
		L.Push(lua.LFalse)
		var apiErr *lua.ApiError
		if errors.As(err, &apiErr) {
			L.Push(apiErr.Object)
		} else {
			L.Push(lua.LString(err.Error()))
		}
		return 2
	}
	L.Push(lua.LTrue)
	for _, v := range results {
		L.Push(v)
	}
	return 1 + len(results)
}

// rep.now() → seconds since the run started, with microsecond precision,
// for measuring windows.
func (s *State) repNow(L *lua.LState) int {
	L.Push(lua.LNumber(float64(time.Since(s.started).Microseconds()) / 1e6))
	return 1
}

// rep.lock() takes the procedure lock on every server of the deployment
// (or the servers given), held until the run ends. It is granted with a
// majority of them (--force-lock: with any one); each server that did not
// grant it is named with its reason, and the error keeps their kind (auth
// for a wrong password).
func (s *State) repLock(L *lua.LState) int {
	// A procedure that runs another (rolling_restart runs switchover)
	// already holds the lock: taking it again would conflict with itself.
	if len(s.locks) > 0 {
		return 0
	}
	var servers []*server.Server
	if L.GetTop() == 0 {
		if s.cfg.Deployment == nil {
			L.RaiseError("lock: no deployment; give the servers: rep.lock(db1, db2, ...)")
		}
		for _, n := range s.cfg.Deployment.Names() {
			sv, err := s.server(L, n, options{t: L.NewTable()})
			if err != nil {
				L.RaiseError("lock: %v", err)
			}
			servers = append(servers, sv)
		}
	}
	for i := 1; i <= L.GetTop(); i++ {
		servers = append(servers, checkServer(L, i))
	}
	lk, err := s.locker.Lock(L.Context(), servers, s.cfg.ForceLock)
	if err != nil {
		return s.raise(L, "lock", lockError(err))
	}
	s.locks = append(s.locks, lk)
	summary := lk.Summary()
	if strings.Contains(summary, "FORCED") {
		fmt.Fprintf(s.cfg.Stderr, "%s warn  %s\n", time.Now().Format("15:04:05.000"), summary)
	}
	s.audit("lock", procedure.LockName, map[string]any{"summary": summary})
	return 0
}

// lockError keeps the kind of the servers' failures: the error object's
// kind comes from its code, which is the first failure's.
func lockError(err error) error {
	var le *procedure.LockError
	if !errors.As(err, &le) {
		return err
	}
	e := &server.Error{Op: "lock", Message: le.Message, Err: le}
	for _, f := range le.Errs {
		var se *server.Error
		if errors.As(f, &se) && se.Code != 0 {
			e.Code, e.SQLState = se.Code, se.SQLState
			break
		}
	}
	return e
}

// renewLocks takes the procedure lock again on a server the procedure
// just (re)started: its lock session ended with the server, and a rolling
// restart would otherwise lose the lock one server at a time.
func (s *State) renewLocks(L *lua.LState, sv *server.Server) {
	for _, lk := range s.locks {
		if err := lk.Renew(L.Context(), sv); err != nil {
			s.audit("lock_lost", procedure.LockName, map[string]any{"error": err.Error(), "at": "restart " + sv.Name()})
			s.raise(L, "lock", err)
		}
	}
}

// verifyLocks stops the procedure when its lock was lost: verified at the
// point of no return and before each step after it (all); before the
// other steps, each lock's StepCheck (etcd's lease, no round trip).
func (s *State) verifyLocks(L *lua.LState, what string, all bool) {
	for _, lk := range s.locks {
		if !all {
			if err := lk.StepCheck(); err != nil {
				s.audit("lock_lost", procedure.LockName, map[string]any{"error": err.Error(), "at": what})
				s.raise(L, "lock", err)
			}
			continue
		}
		if err := lk.Verify(L.Context()); err != nil {
			s.audit("lock_lost", procedure.LockName, map[string]any{"error": err.Error(), "at": what})
			s.raise(L, "lock", err)
		}
	}
}

var shellOptions = optSpec{"timeout": optDuration}

// rep.shell(cmd, {timeout=}) runs an external command through sh -c, for
// hooks (a load balancer, a DNS update). It returns stdout; a non-zero exit
// raises with the command's stderr. Audited; skipped in a dry run.
func (s *State) repShell(L *lua.LState) int {
	cmdline := L.CheckString(1)
	o := checkOptions(L, 2, "shell", shellOptions)
	if s.cfg.DryRun {
		s.planShell(cmdline)
		L.Push(lua.LString(""))
		return 1
	}
	ctx := L.Context()
	if d := o.duration("timeout"); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", cmdline)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	s.audit("shell", procedure.RedactCommand([]string{cmdline})[0], map[string]any{"duration_ms": time.Since(start).Milliseconds(), "error": err})
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			msg = "timed out; " + msg
		}
		L.RaiseError("shell %q: %v: %s", cmdline, err, msg)
	}
	L.Push(lua.LString(out))
	return 1
}

// planShell records a hook a dry run does not run, in the plan and the
// audit log.
func (s *State) planShell(cmdline string) {
	st := server.Statement{SQL: "sh -c " + strconv.Quote(cmdline), Start: time.Now(), Planned: true, Kind: server.KindShell}
	if s.observer != nil {
		s.observer.Statement(st)
	}
}

// rep.confirm(text) → true when the operator agrees: --yes agrees to
// everything; otherwise the question is asked on the terminal, and
// without one the run fails rather than guess.
func (s *State) repConfirm(L *lua.LState) int {
	text := L.CheckString(1)
	if s.cfg.Yes {
		L.Push(lua.LTrue)
		return 1
	}
	if s.cfg.Confirm == nil {
		L.RaiseError("confirm: %q needs an answer and there is no terminal; run with --yes", text)
	}
	ok, err := s.cfg.Confirm(text)
	if errors.Is(err, io.EOF) {
		L.RaiseError("confirm: %q got no answer (the input ended); run with --yes to agree without being asked", text)
	}
	if err != nil {
		L.RaiseError("confirm: %v", err)
	}
	L.Push(lua.LBool(ok))
	return 1
}

// audit records a procedure event when --audit is on.
func (s *State) audit(typ, name string, details map[string]any) {
	if s.auditor != nil {
		s.auditor.Event(typ, name, details)
	}
}

// formatLua is string.format(...) of the arguments, so rep.log formats
// exactly as Lua does ("%.1f", "%5d", "%q"); one argument is the message
// as it is. An argument that is not a string or a number is shown with
// tostring first, as print would.
func formatLua(L *lua.LState) string {
	if L.GetTop() == 1 {
		return L.CheckString(1)
	}
	format := L.CheckString(1)
	args := make([]lua.LValue, 0, L.GetTop())
	args = append(args, lua.LString(format))
	for i := 2; i <= L.GetTop(); i++ {
		v := L.Get(i)
		switch v.(type) {
		case lua.LString, lua.LNumber:
		default:
			v = lua.LString(L.ToStringMeta(v).String())
		}
		args = append(args, v)
	}
	fn := L.GetField(L.GetGlobal("string"), "format")
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	L.Call(len(args), 1)
	msg := L.ToStringMeta(L.Get(-1)).String()
	L.Pop(1)
	return msg
}

// rep.log.info/warn/error(format, ...) write a timestamped line to stderr
// (and the audit log): progress an operator can follow.
func (s *State) logFunctions() map[string]lua.LGFunction {
	logAt := func(level string) lua.LGFunction {
		return func(L *lua.LState) int {
			msg := formatLua(L)
			fmt.Fprintf(s.cfg.Stderr, "%s %-5s %s\n", time.Now().Format("15:04:05.000"), level, msg)
			s.audit("log", level, map[string]any{"message": msg})
			return 0
		}
	}
	return map[string]lua.LGFunction{"info": logAt("info"), "warn": logAt("warn"), "error": logAt("error")}
}
