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
// item (a pcall inside fn does not see it); the item's result carries the
// error. Functions that call back into Lua (kill_connections with a filter)
// run in place, one at a time.
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
				delete(s.parallel, th)
				th.Close()
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
		th, _ := L.NewThread()
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
// scheduler instead of blocking; elsewhere it is the method itself.
func (s *State) async(fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if !s.parallel[L] {
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

// startAsync runs a call on a scratch thread in a goroutine of its own.
// The method only reads its arguments and shared, unchanging tables (the
// metatables), and builds new values, so scratch threads can run at once.
func (s *State) startAsync(L *lua.LState, call *asyncCall, done chan<- *asyncCall) {
	th, _ := L.NewThread()
	fn := L.NewFunction(call.fn)
	go func() {
		defer th.Close()
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
