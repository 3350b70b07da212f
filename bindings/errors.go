package bindings

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	gosql "github.com/go-sql-driver/mysql"
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
	kindAuth       = "auth"       // the server refused the login: it runs, the credentials are wrong
	kindNoMachine  = "no_machine" // the deployment gives no machine or option file for the server
)

// noMachineError is raised by the methods that need the server's machine
// or option file when the deployment gives none.
type noMachineError struct{ msg string }

func (e *noMachineError) Error() string { return e.msg }

// raise turns err into a structured error object and throws it. Fields:
// op, server, code, sqlstate, message, kind, where, and sent = false
// when it failed while connecting, before any statement left. tostring(err) reads
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
	if server.NotSent(err) {
		// It failed while connecting: nothing reached the server.
		t.RawSetString("sent", lua.LFalse)
	}
	t.RawSetString("where", lua.LString(scriptWhere(L, 1)))
	L.SetMetatable(t, L.GetTypeMetatable(errorTypeName))
	L.Error(t, 0)
	return 0
}

var raiseOptions = optSpec{"kind": optString, "message": optString, "server": optAny,
	"op": optString, "code": optInt, "sqlstate": optString, "level": optInt}

// rep.raise{kind=, message=, server=, op=, level=} raises an error object
// like the ones the API raises, so that Lua libraries (replicant.commands)
// fail the same way. level 1 (the default) blames the function's caller's
// line as error() does with level 2: a library blames the playbook that
// called it.
func (s *State) repRaise(L *lua.LState) int {
	o := checkOptions(L, 1, "raise", raiseOptions)
	t := L.NewTable()
	for _, k := range []string{"kind", "message", "op", "sqlstate"} {
		t.RawSetString(k, lua.LString(o.str(k)))
	}
	if o.has("server") {
		t.RawSetString("server", L.ToStringMeta(o.value("server")))
	}
	t.RawSetString("code", lua.LNumber(o.int("code")))
	level := 1
	if o.has("level") {
		level = o.int("level")
	}
	t.RawSetString("where", lua.LString(scriptWhere(L, level+1)))
	L.SetMetatable(t, L.GetTypeMetatable(errorTypeName))
	L.Error(t, 0)
	return 0
}

// Kinds for replication states that make an operation impossible.
const (
	kindNotPrimary         = "not_primary"         // no binary log to take a position from
	kindNotReplica         = "not_replica"         // no replication source configured
	kindReplicationStopped = "replication_stopped" // the applier stopped or failed
)

func errorKind(e *server.Error) string {
	var notPrimary *server.NotPrimaryError
	var notReplica *server.NotReplicaError
	var stopped *server.ReplicationStoppedError
	var noMachine *noMachineError
	switch {
	case errors.As(e.Err, &noMachine):
		return kindNoMachine
	case errors.As(e.Err, &notPrimary):
		return kindNotPrimary
	case errors.As(e.Err, &notReplica):
		return kindNotReplica
	case errors.As(e.Err, &stopped):
		return kindReplicationStopped
	case e.Timeout():
		return kindTimeout
	case server.AuthFailed(e):
		return kindAuth
	case e.Code != 0:
		return kindServer
	case e.Op == "connect" || isNetworkError(e.Err):
		return kindConnection
	}
	// What remains failed on our side before reaching the server: a
	// statement the flavor cannot express, a bad value.
	return kindUsage
}

func isNetworkError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, gosql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
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

// scriptWhere is the "file:line" of the n-th Lua function up the stack
// (1: the nearest). A call made through pcall or another Go function has
// Go frames in between, which Where shows as "[G]"; they do not count.
func scriptWhere(L *lua.LState, n int) string {
	last := ""
	for level := 1; level < 200; level++ {
		w := L.Where(level)
		if w == "" {
			break
		}
		if strings.HasPrefix(w, "[G]") {
			continue
		}
		last = strings.TrimSuffix(w, ":")
		if n--; n == 0 {
			break
		}
	}
	return last
}
