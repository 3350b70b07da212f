package bindings

import (
	"errors"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

const errorTypeName = "replicant.error"

// Error kinds a script can branch on (err.kind).
const (
	kindServer     = "server"     // the server answered with an error
	kindConnection = "connection" // it could not be reached or logged in to
	kindTimeout    = "timeout"    // the run's deadline or a cancel ended the call
	kindUsage      = "usage"      // the script asked for something impossible
)

// raise turns err into a structured error object and throws it. Fields:
// op, server, code, sqlstate, message, kind, where. tostring(err) reads
// "playbook.lua:14: db2 (127.0.0.1:3307): sql: Error 1064 (42000): ...".
func (s *State) raise(L *lua.LState, op string, err error) int {
	e := &server.Error{Op: op, Message: err.Error(), Err: err}
	errors.As(err, &e)
	t := L.NewTable()
	t.RawSetString("op", lua.LString(e.Op))
	t.RawSetString("server", lua.LString(e.Server))
	t.RawSetString("code", lua.LNumber(e.Code))
	t.RawSetString("sqlstate", lua.LString(e.SQLState))
	t.RawSetString("message", lua.LString(e.Message))
	t.RawSetString("kind", lua.LString(errorKind(e)))
	t.RawSetString("where", lua.LString(scriptWhere(L)))
	L.SetMetatable(t, L.GetTypeMetatable(errorTypeName))
	L.Error(t, 0)
	return 0
}

func errorKind(e *server.Error) string {
	switch {
	case e.Timeout():
		return kindTimeout
	case e.Code == 0 && e.Op == "connect":
		return kindConnection
	case e.Code == 1045 || e.Code == 1044 || e.Code == 1130 || e.Code == 2002 || e.Code == 2003:
		return kindConnection
	case e.Code != 0:
		return kindServer
	case e.Server == "":
		return kindUsage
	}
	return kindConnection
}

func registerErrorType(L *lua.LState) {
	mt := L.NewTypeMetatable(errorTypeName)
	mt.RawSetString("__tostring", L.NewFunction(errorToString))
}

// errorToString formats an error object; it also serves the top level,
// which reports an uncaught error object the same way.
func errorToString(L *lua.LState) int {
	L.Push(lua.LString(formatErrorObject(L.CheckTable(1))))
	return 1
}

func formatErrorObject(t *lua.LTable) string {
	field := func(k string) string { return lua.LVAsString(t.RawGetString(k)) }
	var b strings.Builder
	if w := field("where"); w != "" {
		b.WriteString(w + ": ")
	}
	if sv := field("server"); sv != "" {
		b.WriteString(sv + ": ")
	}
	if op := field("op"); op != "" {
		b.WriteString(op + ": ")
	}
	if code, _ := t.RawGetString("code").(lua.LNumber); code != 0 {
		b.WriteString("Error " + lua.LNumber(code).String() + " (" + field("sqlstate") + "): ")
	}
	b.WriteString(field("message"))
	return b.String()
}

// isErrorObject reports whether v is one of our error tables.
func isErrorObject(L *lua.LState, v lua.LValue) (*lua.LTable, bool) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, false
	}
	return t, L.GetMetatable(t) == L.GetTypeMetatable(errorTypeName)
}

// scriptWhere is the "file:line" of the nearest Lua code on the stack. A
// call made through pcall or another Go function has Go frames in
// between, which Where shows as "[G]".
func scriptWhere(L *lua.LState) string {
	for level := 1; level < 64; level++ {
		w := L.Where(level)
		if w == "" {
			break
		}
		if !strings.HasPrefix(w, "[G]") {
			return strings.TrimSuffix(w, ":")
		}
	}
	return ""
}
