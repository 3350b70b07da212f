package flavor

import (
	"database/sql"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func i64(n int64) *int64 { return &n }

func TestParseReplicaStatusFixtures(t *testing.T) {
	tests := []struct {
		name, fixture string
		want          ReplicaStatus
	}{
		{"mariadb 10.11 all slaves", mariadbAllSlaves, ReplicaStatus{
			SourceHost: "127.0.0.1", SourcePort: 39401, SourceUser: "repl", SourceServerID: 1,
			IORunning: true, IOThread: "Yes", IOState: "Waiting for master to send event",
			SQLRunning: true, SQLThread: "Yes", SQLState: "Slave has read all relay log; waiting for more updates",
			SecondsBehind: i64(0),
			ReadPosition:  Position{"mysql-bin.000001", 1168}, ExecPosition: Position{"mysql-bin.000001", 1168},
			RelayPosition:  Position{"relay-bin.000002", 1467},
			RetrievedGTIDs: "0-1-5", ExecutedGTIDs: "0-1-5", UsingGTID: "Slave_Pos", AutoPosition: true,
			SSLAllowed: "No", ConnectRetry: 60, HeartbeatPeriod: 30 * time.Second,
		}},
		{"mariadb 10.11 sql error", mariadbSQLError, ReplicaStatus{
			SourceHost: "127.0.0.1", SourcePort: 39401, SourceServerID: 1,
			IORunning: true, IOThread: "Yes", IOState: "Waiting for master to send event",
			SQLThread: "No", LastSQLErrno: 1062,
			LastSQLError: "Could not execute Write_rows_v1 event on table t.x; Duplicate entry '3' for key 'PRIMARY', " +
				"Error_code: 1062; handler error HA_ERR_FOUND_DUPP_KEY; the event's master log mysql-bin.000001, end_log_pos 1338",
			ReadPosition: Position{"mysql-bin.000001", 1369}, ExecPosition: Position{"mysql-bin.000001", 1168},
			RelayPosition:  Position{"relay-bin.000002", 670},
			RetrievedGTIDs: "0-1-6", ExecutedGTIDs: "0-1-5", UsingGTID: "Slave_Pos", AutoPosition: true,
		}},
		{"mariadb 10.11 io error", mariadbIOError, ReplicaStatus{
			SourceHost: "127.0.0.1", SourcePort: 39401, SourceUser: "repl", SourceServerID: 1,
			IOThread: "Connecting", IOState: "Connecting to master", SQLRunning: true, SQLThread: "Yes",
			SQLState:    "Waiting until MASTER_DELAY seconds after master executed event",
			LastIOErrno: 1045,
			LastIOError: "error connecting to master 'repl@127.0.0.1:39401' - retry-time: 1  maximum-retries: 100000  " +
				"message: Access denied for user 'repl'@'127.0.0.1' (using password: YES)",
			ReadPosition: Position{"mysql-bin.000001", 1168}, ExecPosition: Position{"mysql-bin.000001", 1168},
			RelayPosition: Position{"relay-bin.000001", 4}, UsingGTID: "No",
			SQLDelay: 3600, SQLRemainingDelay: i64(1200), ConnectRetry: 1,
		}},
		{"mysql 5.7", mysql57, ReplicaStatus{
			SourceHost: "localhost", SourcePort: 13000, SourceUser: "repl", SourceServerID: 1,
			SourceUUID: "3e11fa47-71ca-11e1-9e33-c80aa9429562",
			IORunning:  true, IOThread: "Yes", IOState: "Waiting for master to send event",
			SQLRunning: true, SQLThread: "Yes", SQLState: "Slave has read all relay log; waiting for more updates",
			SecondsBehind: i64(0),
			ReadPosition:  Position{"source-bin.000002", 1307}, ExecPosition: Position{"source-bin.000002", 1307},
			RelayPosition:  Position{"replica-relay-bin.000003", 1508},
			RetrievedGTIDs: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
			ExecutedGTIDs:  "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", AutoPosition: true,
			SSLAllowed: "No", ConnectRetry: 60,
		}},
		{"mysql 8.0.22+", mysql84, ReplicaStatus{
			SourceHost: "127.0.0.1", SourcePort: 13000, SourceUser: "root", SourceServerID: 1,
			SourceUUID: "73f86016-978b-11ee-ade5-8d2a2a562feb",
			IORunning:  true, IOThread: "Yes", IOState: "Waiting for source to send event",
			SQLRunning: true, SQLThread: "Yes", SQLState: "Replica has read all relay log; waiting for more updates",
			SecondsBehind: i64(0),
			ReadPosition:  Position{"master-bin.000001", 927}, ExecPosition: Position{"master-bin.000001", 927},
			RelayPosition:  Position{"slave-relay-bin.000002", 1145},
			RetrievedGTIDs: "73f86016-978b-11ee-ade5-8d2a2a562feb:1-3",
			ExecutedGTIDs:  "73f86016-978b-11ee-ade5-8d2a2a562feb:1-3", AutoPosition: true,
			SSLAllowed: "No", ConnectRetry: 1,
		}},
	}
	for _, tt := range tests {
		got, err := ParseReplicaStatus(vertical(t, tt.fixture))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

// A NULL Seconds_Behind must stay apart from 0.
func TestSecondsBehindNull(t *testing.T) {
	st, err := ParseReplicaStatus(vertical(t, mariadbSQLError))
	if err != nil || st.SecondsBehind != nil {
		t.Fatalf("NULL Seconds_Behind_Master: got %v, %v", st.SecondsBehind, err)
	}
	for _, null := range []string{"", "NULL", "null"} {
		row := map[string]string{"Slave_IO_Running": "No", "Slave_SQL_Running": "No", "Seconds_Behind_Master": null}
		if st, err := ParseReplicaStatus(row); err != nil || st.SecondsBehind != nil {
			t.Errorf("string row %q: got %v, %v", null, st.SecondsBehind, err)
		}
	}
}

// The TLS columns of a replica told to verify its source, in both
// vocabularies.
func TestParseReplicaStatusTLS(t *testing.T) {
	for _, prefix := range []string{"Master", "Source"} {
		io := map[string]string{"Master": "Slave", "Source": "Replica"}[prefix]
		st, err := ParseReplicaStatus(map[string]any{io + "_IO_Running": "Yes", io + "_SQL_Running": "Yes",
			prefix + "_SSL_Allowed": "Yes", prefix + "_SSL_CA_File": "/etc/mysql/ca.pem", prefix + "_SSL_Verify_Server_Cert": "Yes"})
		if err != nil || st.SSLAllowed != "Yes" || st.SSLCA != "/etc/mysql/ca.pem" || !st.SSLVerifyServerCert {
			t.Errorf("%s_SSL_*: %+v, %v", prefix, st, err)
		}
	}
}

// The parser takes the value types database/sql hands out, string maps,
// named map types such as server.Row, and any case of column names.
func TestParseReplicaStatusValueTypes(t *testing.T) {
	type namedRow map[string]any
	want := ReplicaStatus{SourceHost: "db1", SourcePort: 3306, SourceServerID: 7, IORunning: true, IOThread: "Yes",
		SQLRunning: true, SQLThread: "Yes", SecondsBehind: i64(3), ExecPosition: Position{"b.000001", 1 << 40}}
	rows := []namedRow{
		{"Source_Host": "db1", "Source_Port": int64(3306), "Source_Server_Id": uint64(7), "Replica_IO_Running": "Yes",
			"Replica_SQL_Running": []byte("Yes"), "Seconds_Behind_Source": int64(3),
			"Relay_Source_Log_File": sql.RawBytes("b.000001"), "Exec_Source_Log_Pos": uint64(1 << 40)},
		{"MASTER_HOST": sql.NullString{String: "db1", Valid: true}, "master_port": 3306, "Master_Server_Id": "7",
			"SLAVE_IO_RUNNING": "Yes", "slave_sql_running": "Yes", "Seconds_Behind_Master": sql.NullInt64{Int64: 3, Valid: true},
			"Relay_Master_Log_File": "b.000001", "Exec_Master_Log_Pos": "1099511627776"},
	}
	for i, row := range rows {
		got, err := ParseReplicaStatus(row)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("row %d:\n got %+v, %v\nwant %+v", i, got, err, want)
		}
	}
}

func TestParseReplicaStatusErrors(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes"}
	}
	tests := []struct {
		name, col string
		value     any
		wantErr   string
	}{
		{"no io column", "Slave_IO_Running", nil, "no Slave_IO_Running/Replica_IO_Running column"},
		{"no sql column", "Slave_SQL_Running", nil, "no Slave_SQL_Running/Replica_SQL_Running column"},
		{"text position", "Exec_Master_Log_Pos", "12x", `column Exec_Master_Log_Pos: "12x" is not an unsigned integer`},
		{"negative position", "Read_Master_Log_Pos", int64(-4), "column Read_Master_Log_Pos: -4 is negative"},
		{"empty number", "Last_IO_Errno", "", `column Last_IO_Errno: "" is not an integer`},
		{"fraction", "Seconds_Behind_Master", 1.5, "column Seconds_Behind_Master: 1.5 is not an integer"},
		{"port range", "Master_Port", int64(70000), "port 70000 out of range"},
		{"odd type", "Master_Host", struct{}{}, "column Master_Host: unexpected value of type struct {}"},
	}
	for _, tt := range tests {
		row := base()
		if tt.value == nil {
			delete(row, tt.col)
		} else {
			row[tt.col] = tt.value
		}
		_, err := ParseReplicaStatus(row)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestParseReplicaStatusRows(t *testing.T) {
	if _, ok, err := ParseReplicaStatusRows([]map[string]any{}); ok || err != nil {
		t.Errorf("no rows: ok %v, err %v; want not a replica", ok, err)
	}
	named := vertical(t, mariadbAllSlaves)
	named["Connection_name"] = []byte("other")
	named["Master_Host"] = []byte("elsewhere")
	def := vertical(t, mariadbAllSlaves)
	st, ok, err := ParseReplicaStatusRows([]map[string]any{named, def})
	if err != nil || !ok || st.SourceHost != "127.0.0.1" {
		t.Errorf("default connection among two: %+v %v %v", st, ok, err)
	}
	_, ok, err = ParseReplicaStatusRows([]map[string]any{named})
	if ok || err == nil || !strings.Contains(err.Error(), `only named channels ("other")`) {
		t.Errorf("named only: ok %v, err %v", ok, err)
	}
	mysql := vertical(t, mysql84)
	if st, ok, err := ParseReplicaStatusRows([]map[string]any{mysql}); !ok || err != nil || st.SourcePort != 13000 {
		t.Errorf("mysql default channel: %+v %v %v", st, ok, err)
	}
	broken := map[string]any{"Channel_Name": ""}
	if _, ok, err := ParseReplicaStatusRows([]map[string]any{broken}); ok || err == nil {
		t.Errorf("default row without running columns: ok %v, err %v", ok, err)
	}
}

func TestParseBinlogStatus(t *testing.T) {
	tests := []struct {
		name string
		row  map[string]any
		want BinlogStatus
	}{
		{"mariadb 10.11 SHOW BINLOG STATUS", map[string]any{"File": []byte("mysql-bin.000001"),
			"Position": []byte("1168"), "Binlog_Do_DB": []byte(""), "Binlog_Ignore_DB": []byte("")},
			BinlogStatus{Position: Position{"mysql-bin.000001", 1168}}},
		{"mysql 8.4 SHOW BINARY LOG STATUS", map[string]any{"File": "source-bin.000002", "Position": uint64(1307),
			"Binlog_Do_DB": "test", "Binlog_Ignore_DB": "manual, mysql",
			"Executed_Gtid_Set": "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5"},
			BinlogStatus{Position: Position{"source-bin.000002", 1307}, ExecutedGTIDs: "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5"}},
	}
	for _, tt := range tests {
		got, err := ParseBinlogStatus(tt.row)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	for _, row := range []map[string]string{
		{"Position": "4"}, {"File": "b.1"}, {"File": "", "Position": "4"}, {"File": "b.1", "Position": "-4"},
	} {
		if got, err := ParseBinlogStatus(row); err == nil {
			t.Errorf("%v: got %+v, want an error", row, got)
		}
	}
}

func TestParseReplicaHost(t *testing.T) {
	tests := []struct {
		name string
		row  map[string]any
		want ReplicaHost
	}{
		{"mariadb 10.11", map[string]any{"Server_id": []byte("2"), "Host": []byte("127.0.0.1"),
			"Port": []byte("39402"), "Master_id": []byte("1")},
			ReplicaHost{ServerID: 2, Host: "127.0.0.1", Port: 39402, SourceServerID: 1}},
		{"mysql 5.7", map[string]any{"Server_id": int64(192168010), "Host": "iconnect2", "Port": int64(3306),
			"Master_id": int64(192168011), "Slave_UUID": "14cb6624-7f93-11e0-b2c0-c80aa9429562"},
			ReplicaHost{192168010, "iconnect2", 3306, 192168011, "14cb6624-7f93-11e0-b2c0-c80aa9429562"}},
		{"mysql 8.0.22+", map[string]any{"Server_Id": int64(10), "Host": "", "Port": int64(3306),
			"Source_Id": int64(1), "Replica_UUID": "14cb6624-7f93-11e0-b2c0-c80aa9429562"},
			ReplicaHost{10, "", 3306, 1, "14cb6624-7f93-11e0-b2c0-c80aa9429562"}},
	}
	for _, tt := range tests {
		got, err := ParseReplicaHost(tt.row)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
	for _, row := range []map[string]any{{"Host": "x"}, {"Server_id": "x"}, {"Server_id": 1, "Port": 70000}} {
		if got, err := ParseReplicaHost(row); err == nil {
			t.Errorf("%v: got %+v, want an error", row, got)
		}
	}
}

func TestPosition(t *testing.T) {
	p := Position{"mysql-bin.000012", 4}
	if p.String() != "mysql-bin.000012:4" || p.IsZero() || !(Position{}).IsZero() {
		t.Errorf("Position %v: String %q IsZero %v", p, p.String(), p.IsZero())
	}
}

// FuzzParseReplicaStatus: any text in any column gives a status or an
// error, never a panic, and a status's strings are the text given.
func FuzzParseReplicaStatus(f *testing.F) {
	f.Add("Yes", "Connecting", "mysql-bin.000001", "1168", "NULL", "0-1-5")
	f.Add("", "No", "", "", "", "")
	f.Add("Yes", "Yes", "b", "18446744073709551615", "-1", "x")
	f.Fuzz(func(t *testing.T, io, sqlThread, file, pos, behind, gtids string) {
		row := map[string]string{"Slave_IO_Running": io, "Replica_SQL_Running": sqlThread,
			"Relay_Master_Log_File": file, "Exec_Master_Log_Pos": pos, "Seconds_Behind_Source": behind,
			"Gtid_IO_Pos": gtids, "Master_Port": pos}
		st, err := ParseReplicaStatus(row)
		if err != nil {
			return
		}
		if st.IOThread != io || st.SQLThread != sqlThread || st.ExecPosition.File != file || st.RetrievedGTIDs != gtids {
			t.Fatalf("row %v parsed as %+v", row, st)
		}
		if st.IORunning != (io == "Yes") || st.SQLRunning != (sqlThread == "Yes") {
			t.Fatalf("running flags of %q/%q: %v/%v", io, sqlThread, st.IORunning, st.SQLRunning)
		}
	})
}

func TestParseReplicaStatusHeartbeats(t *testing.T) {
	row := map[string]any{"Slave_IO_Running": "Yes", "Slave_SQL_Running": "Yes",
		"Slave_received_heartbeats": []byte("17"), "Slave_heartbeat_period": []byte("0.500")}
	st, err := ParseReplicaStatus(row)
	if err != nil || st.ReceivedHeartbeats != 17 || st.HeartbeatPeriod != 500*time.Millisecond {
		t.Errorf("heartbeats %d period %s err %v", st.ReceivedHeartbeats, st.HeartbeatPeriod, err)
	}
	// The server's DECIMAL, as a float: a fraction must not fail the row.
	row["Slave_heartbeat_period"] = 0.5
	if st, err := ParseReplicaStatus(row); err != nil || st.HeartbeatPeriod != 500*time.Millisecond {
		t.Errorf("period 0.5 as a float: %s, %v", st.HeartbeatPeriod, err)
	}
	row["Slave_heartbeat_period"] = []byte("soon")
	if _, err := ParseReplicaStatus(row); err == nil || !strings.Contains(err.Error(), "Slave_heartbeat_period") {
		t.Errorf("a malformed period: %v", err)
	}
}

// columnsOf turns a fixture row into a result's columns and one row of
// values, in a fixed order.
func columnsOf(row map[string]any) ([]string, []any) {
	var cols []string
	for name := range row {
		cols = append(cols, name)
	}
	sort.Strings(cols)
	vals := make([]any, len(cols))
	for i, c := range cols {
		vals[i] = row[c]
	}
	return cols, vals
}

// ParseReplicaStatusResult reads what ParseReplicaStatusRows reads, from
// the same rows given as columns and values: every fixture, a default
// channel among named ones, names in another case, and the same columns
// again (its cached layout) with other values.
func TestParseReplicaStatusResultMatchesRows(t *testing.T) {
	for _, fx := range []string{mariadbAllSlaves, mariadbSQLError, mariadbIOError, mysql57, mysql84} {
		row := vertical(t, fx)
		want, wantOK, wantErr := ParseReplicaStatusRows([]map[string]any{row})
		cols, vals := columnsOf(row)
		for pass := 0; pass < 2; pass++ { // the second finds its layout cached
			got, ok, err := ParseReplicaStatusResult(cols, [][]any{vals})
			if !reflect.DeepEqual(got, want) || ok != wantOK || (err == nil) != (wantErr == nil) {
				t.Errorf("pass %d:\n got %+v %v %v\nwant %+v %v %v", pass, got, ok, err, want, wantOK, wantErr)
			}
		}
	}
	named := vertical(t, mariadbAllSlaves)
	named["Connection_name"], named["Master_Host"], named["Master_Port"] = []byte("other"), []byte("elsewhere"), []byte("1")
	def := vertical(t, mariadbAllSlaves)
	cols, nv := columnsOf(named)
	_, dv := columnsOf(def)
	st, ok, err := ParseReplicaStatusResult(cols, [][]any{nv, dv})
	if err != nil || !ok || st.SourceHost != "127.0.0.1" || st.SourcePort != 39401 {
		t.Errorf("default connection among two: %+v %v %v", st, ok, err)
	}
	if _, ok, err := ParseReplicaStatusResult(cols, [][]any{nv}); ok || err == nil || !strings.Contains(err.Error(), `only named channels ("other")`) {
		t.Errorf("named only: ok %v, err %v", ok, err)
	}
	if _, ok, err := ParseReplicaStatusResult(cols, nil); ok || err != nil {
		t.Errorf("no rows: ok %v, err %v; want not a replica", ok, err)
	}
	lower := make([]string, len(cols))
	for i, c := range cols {
		lower[i] = strings.ToLower(c)
	}
	if st, ok, err := ParseReplicaStatusResult(lower, [][]any{dv}); err != nil || !ok || st.SourcePort != 39401 || !st.IORunning {
		t.Errorf("lower-cased column names: %+v %v %v", st, ok, err)
	}
	dv2 := slices.Clone(dv)
	dv2[slices.Index(cols, "Slave_IO_Running")] = []byte("No")
	if st, _, _ := ParseReplicaStatusResult(cols, [][]any{dv2}); st.IORunning || st.IOThread != "No" {
		t.Errorf("the same columns with other values: %+v", st)
	}
}

// The layouts kept are bounded, most recent first.
func TestLayoutCacheIsBounded(t *testing.T) {
	for i := 0; i < 3*maxLayouts; i++ {
		layoutOf([]string{"c" + strconv.Itoa(i)})
	}
	a := layoutOf([]string{"c0"})
	if b := layoutOf([]string{"c0"}); a != b {
		t.Error("the same columns twice in a row: two layouts")
	}
	layouts.mu.Lock()
	n, first := len(layouts.recent), layouts.recent[0]
	layouts.mu.Unlock()
	if n != maxLayouts || first != a {
		t.Errorf("%d layouts kept (want %d), the first %v", n, maxLayouts, first.names)
	}
}
