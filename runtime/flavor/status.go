package flavor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Position is a place in a binary log. It has the same fields as
// gtid.Position, so a caller converts with gtid.Position(p); this package
// does not import gtid.
type Position struct {
	File string
	Pos  uint64
}

// String is "mysql-bin.000012:4".
func (p Position) String() string { return p.File + ":" + strconv.FormatUint(p.Pos, 10) }

// IsZero reports whether p is the zero Position.
func (p Position) IsZero() bool { return p == Position{} }

// ReplicaStatus is one row of SHOW REPLICA STATUS in one vocabulary for
// both flavors and every version. The comments name the columns read, old
// name / new name (MySQL 8.0.22+).
type ReplicaStatus struct {
	// Channel is Channel_Name (MySQL) or Connection_name (MariaDB SHOW ALL
	// SLAVES STATUS); "" is the default channel.
	Channel        string
	SourceHost     string // Master_Host / Source_Host
	SourcePort     int    // Master_Port / Source_Port
	SourceUser     string // Master_User / Source_User
	SourceServerID uint64 // Master_Server_Id / Source_Server_Id
	SourceUUID     string // Master_UUID / Source_UUID; MySQL only

	// IORunning is true when the receiver is connected: IOThread is "Yes".
	// IOThread keeps the raw Slave_IO_Running / Replica_IO_Running value:
	// "Yes", "No" or "Connecting" (running, not connected).
	IORunning bool
	IOThread  string
	IOState   string // Slave_IO_State / Replica_IO_State, e.g. "Waiting for master to send event"
	// SQLRunning is true when SQLThread (Slave_SQL_Running /
	// Replica_SQL_Running) is "Yes".
	SQLRunning bool
	SQLThread  string
	SQLState   string // Slave_SQL_Running_State / Replica_SQL_Running_State

	LastIOErrno  int64  // Last_IO_Errno; 0 is no error
	LastIOError  string // Last_IO_Error
	LastSQLErrno int64  // Last_SQL_Errno
	LastSQLError string // Last_SQL_Error

	// SecondsBehind is Seconds_Behind_Master / Seconds_Behind_Source. nil
	// is NULL, which the server reports when the SQL thread is not running
	// or (older versions) the IO thread is not connected: unknown, not 0.
	SecondsBehind *int64

	// ReadPosition is how far the receiver has copied the source's binlog:
	// Master_Log_File:Read_Master_Log_Pos / Source_Log_File:Read_Source_Log_Pos.
	ReadPosition Position
	// ExecPosition is the source binlog position the applier has reached:
	// Relay_Master_Log_File:Exec_Master_Log_Pos /
	// Relay_Source_Log_File:Exec_Source_Log_Pos; the position to give
	// WaitForPosition or to a new replica of the same source. A MySQL
	// channel with GTID_ONLY shows file "INVALID" and 0 after a restart.
	ExecPosition Position
	// RelayPosition is the applier's place in this server's relay log
	// (Relay_Log_File:Relay_Log_Pos).
	RelayPosition Position

	// RetrievedGTIDs is what the receiver has fetched: Retrieved_Gtid_Set
	// (MySQL) or Gtid_IO_Pos (MariaDB).
	RetrievedGTIDs string
	// ExecutedGTIDs is what the server has applied: Executed_Gtid_Set
	// (MySQL, the same as gtid_executed) or Gtid_Slave_Pos (MariaDB, only in
	// SHOW ALL SLAVES STATUS; "" from SHOW SLAVE STATUS).
	ExecutedGTIDs string
	// UsingGTID is MariaDB's Using_Gtid: "No", "Slave_Pos" or "Current_Pos";
	// "" on MySQL.
	UsingGTID string

	// TLS of the replication connection as configured: SSLAllowed is
	// Master_SSL_Allowed / Source_SSL_Allowed ("Yes", "No", or "Ignored"
	// when MASTER_SSL = 1 but the server has no TLS support), SSLCA the CA
	// file, SSLVerifyServerCert whether the source's certificate is checked
	// (and TLS therefore mandatory: without it MariaDB 10.11 falls back to
	// clear text from a source without TLS, measured).
	SSLAllowed          string
	SSLCA               string
	SSLVerifyServerCert bool
	// AutoPosition is true when the replica positions itself by GTID: MySQL
	// Auto_Position = 1, MariaDB Using_Gtid other than "No".
	AutoPosition bool

	SQLDelay          int64  // SQL_Delay, seconds
	SQLRemainingDelay *int64 // SQL_Remaining_Delay; nil unless waiting out the delay

	// ConnectRetry is Connect_Retry: seconds between the receiver's
	// attempts to reach a lost source.
	ConnectRetry int64
	// ReceivedHeartbeats counts the heartbeats the receiver got from its
	// source since it was configured (MariaDB's Slave_received_heartbeats),
	// and HeartbeatPeriod is how often an idle source sends one
	// (Slave_heartbeat_period). A count that stops growing while the
	// receiver says "Yes" means a source that no longer sends anything: a
	// hung primary, before slave_net_timeout ends the connection. MySQL
	// keeps them in performance_schema, not in SHOW REPLICA STATUS: zero.
	ReceivedHeartbeats uint64
	HeartbeatPeriod    time.Duration
}

// Column names, old (MySQL before 8.0.22 and every MariaDB) then new.
var (
	colIORunning  = []string{"Slave_IO_Running", "Replica_IO_Running"}
	colSQLRunning = []string{"Slave_SQL_Running", "Replica_SQL_Running"}
	colChannel    = []string{"Channel_Name", "Connection_name"}
)

// ParseReplicaStatus reads one replica status row, looking columns up by
// name (case-insensitively), never by position: "The order in which the
// columns appear depends on the MariaDB version" (MariaDB KB, SHOW SLAVE
// STATUS), and MySQL 8.0.22 renamed them. It accepts the old and the
// new column names, and the values database/sql returns: string, []byte,
// sql.RawBytes, integers, nil (NULL) or sql.Null*. A row without the
// IO/SQL running columns is an error, as is a malformed number; other
// missing columns are left zero.
func ParseReplicaStatus[R ~map[string]V, V any](row R) (ReplicaStatus, error) {
	return parseReplicaStatus(newFields(row))
}

func parseReplicaStatus(fs fields) (ReplicaStatus, error) {
	var st ReplicaStatus
	if _, _, ok := fs.get(colIORunning...); !ok {
		return st, fmt.Errorf("replica status: no %s column", strings.Join(colIORunning, "/"))
	}
	if _, _, ok := fs.get(colSQLRunning...); !ok {
		return st, fmt.Errorf("replica status: no %s column", strings.Join(colSQLRunning, "/"))
	}
	r := statusReader{fs: fs}
	st.Channel = r.text(colChannel...)
	st.SourceHost = r.text("Master_Host", "Source_Host")
	st.SourcePort = int(r.uint("Master_Port", "Source_Port"))
	st.SourceUser = r.text("Master_User", "Source_User")
	st.SourceServerID = r.uint("Master_Server_Id", "Source_Server_Id")
	st.SourceUUID = r.text("Master_UUID", "Source_UUID")
	st.IOThread = r.text(colIORunning...)
	st.IORunning = st.IOThread == "Yes"
	st.IOState = r.text("Slave_IO_State", "Replica_IO_State")
	st.SQLThread = r.text(colSQLRunning...)
	st.SQLRunning = st.SQLThread == "Yes"
	st.SQLState = r.text("Slave_SQL_Running_State", "Replica_SQL_Running_State")
	st.LastIOErrno = r.int("Last_IO_Errno")
	st.LastIOError = r.text("Last_IO_Error")
	st.LastSQLErrno = r.int("Last_SQL_Errno")
	st.LastSQLError = r.text("Last_SQL_Error")
	st.SecondsBehind = r.nullInt("Seconds_Behind_Master", "Seconds_Behind_Source")
	st.ReadPosition = r.position("Master_Log_File", "Source_Log_File",
		"Read_Master_Log_Pos", "Read_Source_Log_Pos")
	st.ExecPosition = r.position("Relay_Master_Log_File", "Relay_Source_Log_File",
		"Exec_Master_Log_Pos", "Exec_Source_Log_Pos")
	st.RelayPosition = r.position("Relay_Log_File", "", "Relay_Log_Pos", "")
	st.RetrievedGTIDs = r.text("Retrieved_Gtid_Set", "Gtid_IO_Pos")
	st.ExecutedGTIDs = r.text("Executed_Gtid_Set", "Gtid_Slave_Pos")
	st.UsingGTID = r.text("Using_Gtid")
	st.SSLAllowed = r.text("Master_SSL_Allowed", "Source_SSL_Allowed")
	st.SSLCA = r.text("Master_SSL_CA_File", "Source_SSL_CA_File")
	st.SSLVerifyServerCert = r.text("Master_SSL_Verify_Server_Cert", "Source_SSL_Verify_Server_Cert") == "Yes"
	st.AutoPosition = r.int("Auto_Position") == 1 || (st.UsingGTID != "" && !strings.EqualFold(st.UsingGTID, "No"))
	st.SQLDelay = r.int("SQL_Delay")
	st.SQLRemainingDelay = r.nullInt("SQL_Remaining_Delay")
	st.ConnectRetry = r.int("Connect_Retry")
	st.ReceivedHeartbeats = r.uint("Slave_received_heartbeats")
	st.HeartbeatPeriod = r.seconds("Slave_heartbeat_period")
	if st.SourcePort < 0 || st.SourcePort > 65535 {
		return st, fmt.Errorf("replica status: port %d out of range", st.SourcePort)
	}
	if r.err != nil {
		return st, fmt.Errorf("replica status: %w", r.err)
	}
	return st, nil
}

// ParseReplicaStatusRows reads the rows of ReplicaStatusQuery. No row means
// the server is not a replica (ok false). Otherwise it returns the default
// channel's row; rows only for named channels or connections are an error,
// since replicant-lua drives the default channel only and must not mistake
// another one for it.
func ParseReplicaStatusRows[R ~map[string]V, V any](rows []R) (st ReplicaStatus, ok bool, err error) {
	fs := make([]fields, len(rows))
	for i, row := range rows {
		fs[i] = newFields(row)
	}
	return parseReplicaStatusRows(fs)
}

// ParseReplicaStatusResult is ParseReplicaStatusRows for a result given
// as its columns and its rows of values, in the columns' order (the shape
// of server.Result): the columns are still found by name, but their
// positions are worked out once per list of columns rather than in a map
// per row, which a watcher reading every replica's status several times
// a second notices.
func ParseReplicaStatusResult(columns []string, rows [][]any) (st ReplicaStatus, ok bool, err error) {
	fs := make([]fields, len(rows))
	for i, row := range rows {
		fs[i] = rowFields(columns, row)
	}
	return parseReplicaStatusRows(fs)
}

func parseReplicaStatusRows(rows []fields) (st ReplicaStatus, ok bool, err error) {
	if len(rows) == 0 {
		return st, false, nil
	}
	var named []string
	for _, fs := range rows {
		v, _, _ := fs.get(colChannel...)
		name, _, err := textValue(v)
		if err != nil {
			return st, false, fmt.Errorf("replica status: channel name: %w", err)
		}
		if name == "" {
			st, err := parseReplicaStatus(fs)
			return st, err == nil, err
		}
		named = append(named, strconv.Quote(name))
	}
	return st, false, fmt.Errorf("replica status: only named channels (%s); "+
		"multi-source replication is not supported", strings.Join(named, ", "))
}

// statusReader collects the first conversion error so that the parser
// reads as a list of columns.
type statusReader struct {
	fs  fields
	err error
}

func (r *statusReader) keep(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *statusReader) text(names ...string) string {
	s, err := r.fs.text(names...)
	r.keep(err)
	return s
}

func (r *statusReader) uint(names ...string) uint64 {
	n, err := r.fs.uint(names...)
	r.keep(err)
	return n
}

func (r *statusReader) int(names ...string) int64 {
	n, err := r.fs.int(names...)
	r.keep(err)
	return n
}

func (r *statusReader) nullInt(names ...string) *int64 {
	n, err := r.fs.nullInt(names...)
	r.keep(err)
	return n
}

// seconds reads a column of seconds with a fraction ("30.000").
// The server sends it as a DECIMAL: text, or a float64 from drivers and
// tests that convert it.
func (r *statusReader) seconds(names ...string) time.Duration {
	v, name, ok := r.fs.get(names...)
	if !ok || v == nil {
		return 0
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	default:
		s, _, err := textValue(v)
		if err != nil {
			r.keep(fmt.Errorf("column %s: %w", name, err))
			return 0
		}
		if s == "" {
			return 0
		}
		if f, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			r.keep(fmt.Errorf("column %s: %q is not a number of seconds", name, s))
			return 0
		}
	}
	if f < 0 {
		r.keep(fmt.Errorf("column %s: %v is not a number of seconds", name, f))
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// position reads a file column and a position column, each under its old
// or new name ("" when the column was never renamed).
func (r *statusReader) position(oldFile, newFile, oldPos, newPos string) Position {
	return Position{
		File: r.text(nonEmpty(oldFile, newFile)...),
		Pos:  r.uint(nonEmpty(oldPos, newPos)...),
	}
}

func nonEmpty(names ...string) []string {
	out := names[:0:0]
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}
