package bindings

import (
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// semiSyncTable is what scripts see of a server's semi-sync state; timeout
// is in seconds, like every duration the API returns.
func semiSyncTable(L *lua.LState, st flavor.SemiSync) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("available", lua.LBool(st.Available))
	t.RawSetString("primary_enabled", lua.LBool(st.PrimaryEnabled))
	t.RawSetString("replica_enabled", lua.LBool(st.ReplicaEnabled))
	t.RawSetString("primary_active", lua.LBool(st.PrimaryActive))
	t.RawSetString("replica_active", lua.LBool(st.ReplicaActive))
	t.RawSetString("clients", lua.LNumber(st.Clients))
	t.RawSetString("acked_tx", lua.LNumber(st.AckedTx))
	t.RawSetString("unacked_tx", lua.LNumber(st.UnackedTx))
	t.RawSetString("timeout", lua.LNumber(st.Timeout.Seconds()))
	if st.WaitPoint != "" {
		t.RawSetString("wait_point", lua.LString(strings.ToLower(st.WaitPoint)))
	}
	return t
}

// db:semi_sync() → {primary_enabled, replica_enabled, primary_active,
// replica_active, clients, acked_tx, unacked_tx, timeout, wait_point,
// available}.
func (s *State) serverSemiSync(L *lua.LState) int {
	st, err := checkServer(L, 1).SemiSync(L.Context())
	if err != nil {
		return s.raise(L, "semi_sync", err)
	}
	L.Push(semiSyncTable(L, st))
	return 1
}

var semiSyncOptions = optSpec{"primary": optBool, "replica": optBool, "timeout": optDuration, "wait_point": optString}

// db:set_semi_sync{primary=, replica=, timeout=, wait_point=} changes what
// is given and returns the state before (for an undo: pass its
// primary_enabled, replica_enabled, timeout and wait_point back) and
// whether it restarted the receiver, which a replica-side change needs
// when the receiver runs. In a dry run the statements are planned, not run.
func (s *State) serverSetSemiSync(L *lua.LState) int {
	sv := checkServer(L, 1)
	o := checkOptions(L, 2, "set_semi_sync", semiSyncOptions)
	var set flavor.SemiSyncSettings
	if o.has("primary") {
		b := o.bool("primary")
		set.Primary = &b
	}
	if o.has("replica") {
		b := o.bool("replica")
		set.Replica = &b
	}
	if o.has("timeout") {
		d := o.duration("timeout")
		set.Timeout = &d
	}
	set.WaitPoint = o.str("wait_point")
	ch, err := sv.SetSemiSync(L.Context(), set)
	if err != nil {
		return s.raise(L, "set_semi_sync", err)
	}
	L.Push(semiSyncTable(L, ch.Before))
	L.Push(lua.LBool(ch.RestartedReceiver))
	return 2
}
