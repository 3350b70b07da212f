package bindings

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// replicationMethods are the server methods that read replication state.
func (s *State) replicationMethods() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"position":       s.serverPosition,
		"replica_status": s.serverReplicaStatus,
		"gtid_executed":  s.serverGTIDExecuted,
	}
}

// db:position() → the binlog position the server is writing at. Raises
// (op "position") when binary logging is off.
func (s *State) serverPosition(L *lua.LState) int {
	p, err := checkServer(L, 1).Position(L.Context())
	if err != nil {
		return s.raise(L, "position", err)
	}
	pushPosition(L, p)
	return 1
}

// db:gtid_executed() → the GTID set the server has applied.
func (s *State) serverGTIDExecuted(L *lua.LState) int {
	g, err := checkServer(L, 1).GTIDExecuted(L.Context())
	if err != nil {
		return s.raise(L, "gtid_executed", err)
	}
	pushGTID(L, g)
	return 1
}

// db:replica_status() → a plain table in one vocabulary for both flavors,
// or nil when the server is not a replica.
func (s *State) serverReplicaStatus(L *lua.LState) int {
	sv := checkServer(L, 1)
	st, err := sv.ReplicaStatus(L.Context())
	if err != nil {
		return s.raise(L, "replica_status", err)
	}
	if st == nil {
		L.Push(lua.LNil)
		return 1
	}
	fl, _ := sv.Flavor(L.Context()) // known: ReplicaStatus connected
	gf := fl.GTIDFlavor()
	t, err := s.replicaStatusTable(L, st, gf)
	if err != nil {
		return s.raise(L, "replica_status", err)
	}
	L.Push(t)
	return 1
}

func (s *State) replicaStatusTable(L *lua.LState, st *flavor.ReplicaStatus, gf gtid.Flavor) (*lua.LTable, error) {
	t := L.NewTable()
	str := func(k, v string) { t.RawSetString(k, lua.LString(v)) }
	num := func(k string, v int64) { t.RawSetString(k, lua.LNumber(v)) }
	str("source_host", st.SourceHost)
	num("source_port", int64(st.SourcePort))
	t.RawSetString("source_server_id", s.toLua(st.SourceServerID))
	str("source_uuid", st.SourceUUID)
	str("source_user", st.SourceUser)
	t.RawSetString("io_running", lua.LBool(st.IORunning))
	str("io_thread", st.IOThread)
	str("io_state", st.IOState)
	t.RawSetString("sql_running", lua.LBool(st.SQLRunning))
	str("sql_thread", st.SQLThread)
	str("sql_state", st.SQLState)
	num("last_io_errno", st.LastIOErrno)
	str("last_io_error", st.LastIOError)
	num("last_sql_errno", st.LastSQLErrno)
	str("last_sql_error", st.LastSQLError)
	if st.SecondsBehind != nil { // NULL (unknown) stays nil: never mistaken for 0
		num("seconds_behind", *st.SecondsBehind)
	}
	for k, p := range map[string]flavor.Position{"read_position": st.ReadPosition,
		"executed_position": st.ExecPosition, "relay_position": st.RelayPosition} {
		t.RawSetString(k, newValue(L, gtid.Position(p), positionTypeName))
	}
	for k, text := range map[string]string{"retrieved_gtids": st.RetrievedGTIDs, "executed_gtids": st.ExecutedGTIDs} {
		set, err := gtid.Parse(text, gf)
		if err != nil {
			return nil, err
		}
		t.RawSetString(k, newValue(L, set, gtidTypeName))
	}
	str("using_gtid", st.UsingGTID)
	t.RawSetString("auto_position", lua.LBool(st.AutoPosition))
	str("ssl_allowed", st.SSLAllowed)
	str("ssl_ca", st.SSLCA)
	t.RawSetString("ssl_verify_server_cert", lua.LBool(st.SSLVerifyServerCert))
	num("sql_delay", st.SQLDelay)
	num("connect_retry", st.ConnectRetry)
	if st.HeartbeatPeriod > 0 { // MySQL's status does not say: nil, not 0
		t.RawSetString("heartbeat", lua.LNumber(st.HeartbeatPeriod.Seconds()))
	}
	return t, nil
}
