package bindings

import (
	"errors"
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// rep.parallel(list, fn) calls fn(item) for every item at once and returns
// one result per item, in order: { ok = true, value = first, values = {...} }
// or { ok = false, err = error }, and a second value, true when all
// succeeded.
//
// An LState runs one goroutine at a time (gopher-lua README, "Goroutines"),
// so the functions run as coroutines on the script's goroutine, and the
// fan-out happens in Go: when fn calls a server method, the call is taken
// out of the coroutine (it yields), runs in a goroutine of its own on a
// scratch Lua thread, and the coroutine resumes with the results when it
// is done. Statements to several servers therefore run concurrently while
// each fn still reads as plain sequential code. A call that fails ends its
// item; the item's result carries the error. Inside pcall, rep.try or
// rep.step a call runs in place instead (its result or error comes back
// there), as do the methods not in asyncMethods.
func (s *State) repParallel(L *lua.LState) int {
	list := L.CheckTable(1)
	fn := L.CheckFunction(2)
	n := list.Len()
	results := make([]*lua.LTable, n)
	done := make(chan *asyncCall)
	pending := 0
	threads := make([]*lua.LState, n)
	defer func() {
		for _, th := range threads {
			if th != nil {
				s.endThread(th)
			}
		}
	}()
	step := func(i int, st lua.ResumeState, err error, vals []lua.LValue) {
		switch {
		case err != nil:
			results[i] = s.itemResult(L, nil, s.caught(err))
		case st == lua.ResumeOK:
			results[i] = s.itemResult(L, vals, nil)
		default:
			call, ok := asAsyncCall(vals)
			if !ok {
				results[i] = s.itemResult(L, nil, lua.LString("rep.parallel: the function yielded; coroutines cannot be used inside it"))
				return
			}
			call.item = i
			pending++
			s.startAsync(L, call, done)
		}
	}
	for i := 1; i <= n; i++ {
		th := s.newThread(L)
		threads[i-1] = th
		s.parallel[th] = true
		st, err, vals := L.Resume(th, fn, list.RawGetInt(i))
		step(i-1, st, err, vals)
	}
	for pending > 0 {
		call := <-done
		pending--
		if call.err != nil {
			results[call.item] = s.itemResult(L, nil, call.err)
			continue
		}
		st, err, vals := L.Resume(threads[call.item], fn, call.results...)
		step(call.item, st, err, vals)
	}
	out := L.CreateTable(n, 0)
	allOK := true
	for _, r := range results {
		out.Append(r)
		allOK = allOK && lua.LVAsBool(r.RawGetString("ok"))
	}
	L.Push(out)
	L.Push(lua.LBool(allOK))
	return 2
}

// newThread is L.NewThread keeping the cancel function of the thread's
// context: dropped, it leaves the context registered with its parent
// until the run ends (about 740 bytes per call).
func (s *State) newThread(L *lua.LState) *lua.LState {
	th, cancel := L.NewThread()
	if cancel != nil {
		s.threadCancel[th] = cancel
	}
	return th
}

// endThread releases what newThread took.
func (s *State) endThread(th *lua.LState) {
	cancel := s.threadCancel[th]
	delete(s.threadCancel, th)
	if cancel != nil {
		cancel()
	}
	delete(s.parallel, th)
	delete(s.protected, th)
	th.Close()
}

func (s *State) itemResult(L *lua.LState, vals []lua.LValue, errValue lua.LValue) *lua.LTable {
	t := L.NewTable()
	if errValue != nil {
		t.RawSetString("ok", lua.LFalse)
		t.RawSetString("err", errValue)
		return t
	}
	t.RawSetString("ok", lua.LTrue)
	all := L.CreateTable(len(vals), 0)
	for _, v := range vals {
		all.Append(v)
	}
	if len(vals) > 0 {
		t.RawSetString("value", vals[0])
	}
	t.RawSetString("values", all)
	return t
}

// caught is the value a failed call raised.
func (s *State) caught(err error) lua.LValue {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) {
		return apiErr.Object
	}
	return lua.LString(err.Error())
}

// asyncCall is a method call taken out of a parallel coroutine.
type asyncCall struct {
	fn      lua.LGFunction
	args    []lua.LValue
	where   string // the playbook line of the call, for its error
	item    int
	results []lua.LValue
	err     lua.LValue
}

const asyncTypeName = "replicant.async"

func asAsyncCall(vals []lua.LValue) (*asyncCall, bool) {
	if len(vals) != 1 {
		return nil, false
	}
	ud, ok := vals[0].(*lua.LUserData)
	if !ok {
		return nil, false
	}
	call, ok := ud.Value.(*asyncCall)
	return call, ok
}

// async wraps a method so that, inside rep.parallel, it yields to the
// scheduler instead of blocking; elsewhere it is the method itself. Inside
// a protected call (pcall, xpcall, rep.try, rep.step, with_session) it
// also runs in place: the protected call would otherwise receive the
// yielded call as its result, and the statement would never run.
func (s *State) async(fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if !s.parallel[L] || s.protected[L] > 0 {
			return fn(L)
		}
		args := make([]lua.LValue, L.GetTop())
		for i := range args {
			args[i] = L.Get(i + 1)
		}
		ud := L.NewUserData()
		ud.Value = &asyncCall{fn: fn, args: args, where: scriptWhere(L, 1)}
		return L.Yield(ud)
	}
}

func (s *State) unprotect(L *lua.LState) {
	if s.protected[L]--; s.protected[L] <= 0 {
		delete(s.protected, L)
	}
}

// installProtectedCalls wraps pcall and xpcall so that they mark the
// calling thread as protected while they run (see async); they behave as
// Lua's own otherwise.
func (s *State) installProtectedCalls() {
	for _, name := range []string{"pcall", "xpcall"} {
		orig := s.L.GetGlobal(name).(*lua.LFunction).GFunction
		s.L.SetGlobal(name, s.L.NewFunction(func(L *lua.LState) int {
			s.protected[L]++
			defer s.unprotect(L)
			return orig(L)
		}))
	}
}

// startAsync runs a call on a scratch thread in a goroutine of its own.
// The method only reads its arguments and shared, unchanging tables (the
// metatables), and builds new values, so scratch threads can run at once.
func (s *State) startAsync(L *lua.LState, call *asyncCall, done chan<- *asyncCall) {
	th, cancel := L.NewThread()
	fn := L.NewFunction(call.fn)
	go func() {
		defer th.Close()
		if cancel != nil {
			defer cancel()
		}
		defer func() {
			if r := recover(); r != nil {
				call.err = lua.LString(fmt.Sprint(r))
			}
			done <- call
		}()
		if err := th.CallByParam(lua.P{Fn: fn, NRet: lua.MultRet, Protect: true}, call.args...); err != nil {
			call.err = s.caught(err)
			if t, ok := call.err.(*lua.LTable); ok && t.RawGetString("where") != lua.LNil {
				t.RawSetString("where", lua.LString(call.where))
			}
			return
		}
		for i := 1; i <= th.GetTop(); i++ {
			call.results = append(call.results, th.Get(i))
		}
	}()
}
