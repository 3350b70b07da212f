package bindings

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// bindSandboxServers makes the globals DB1, DB2, ... the server objects of
// sb's instances, logged in as the tool's user with password pw.
func bindSandboxServers(t *testing.T, s *State, sb *sandbox.Sandbox, pw string) {
	t.Helper()
	L := s.L
	for i, in := range sb.Instances {
		opts := L.NewTable()
		opts.RawSetString("user", lua.LString(sb.User.Name))
		opts.RawSetString("password", lua.LString(pw))
		opts.RawSetString("name", lua.LString(in.Name))
		sv, err := s.server(L, in.Addr(), options{t: opts})
		if err != nil {
			t.Fatal(err)
		}
		s.pushServer(L, sv)
		L.SetGlobal("DB"+string(rune('1'+i)), L.Get(-1))
		L.Pop(1)
	}
}
