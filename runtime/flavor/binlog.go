package flavor

import "fmt"

// BinlogStatus is the row of BinlogStatusQuery: where this server is
// writing its binary log.
type BinlogStatus struct {
	Position Position // File:Position
	// ExecutedGTIDs is Executed_Gtid_Set, the same as gtid_executed (MySQL);
	// MariaDB has no such column: use GTIDExecutedQuery.
	ExecutedGTIDs string
}

// ParseBinlogStatus reads a row of SHOW MASTER STATUS / SHOW BINLOG STATUS
// / SHOW BINARY LOG STATUS by column name. File and Position must be
// present. An empty result (no row) means binary logging is off; that is
// for the caller to see before calling.
func ParseBinlogStatus[R ~map[string]V, V any](row R) (BinlogStatus, error) {
	fs := newFields(row)
	var bs BinlogStatus
	for _, col := range []string{"File", "Position"} {
		if _, _, ok := fs.get(col); !ok {
			return bs, fmt.Errorf("binlog status: no %s column", col)
		}
	}
	r := statusReader{fs: fs}
	bs.Position = Position{File: r.text("File"), Pos: r.uint("Position")}
	bs.ExecutedGTIDs = r.text("Executed_Gtid_Set")
	if r.err != nil {
		return bs, fmt.Errorf("binlog status: %w", r.err)
	}
	if bs.Position.File == "" {
		return bs, fmt.Errorf("binlog status: empty File")
	}
	return bs, nil
}

// ReplicaHost is a row of ShowReplicasQuery: a replica registered with
// this server.
type ReplicaHost struct {
	ServerID       uint64 // Server_id (Server_Id on MySQL 8.0.22+)
	Host           string // its report_host, "" when it has none (MySQL)
	Port           int    // its report_port
	SourceServerID uint64 // Master_id / Source_Id: this server's server_id
	UUID           string // Slave_UUID / Replica_UUID; MySQL only
}

// ParseReplicaHost reads one row of SHOW SLAVE HOSTS / SHOW REPLICAS / SHOW
// REPLICA HOSTS by column name. Server_id must be present.
func ParseReplicaHost[R ~map[string]V, V any](row R) (ReplicaHost, error) {
	fs := newFields(row)
	var h ReplicaHost
	if _, _, ok := fs.get("Server_id"); !ok {
		return h, fmt.Errorf("replica host: no Server_id column")
	}
	r := statusReader{fs: fs}
	h.ServerID = r.uint("Server_id")
	h.Host = r.text("Host")
	port := r.uint("Port")
	h.SourceServerID = r.uint("Master_id", "Source_Id")
	h.UUID = r.text("Slave_UUID", "Replica_UUID")
	if r.err != nil {
		return h, fmt.Errorf("replica host: %w", r.err)
	}
	if port > 65535 {
		return h, fmt.Errorf("replica host: port %d out of range", port)
	}
	h.Port = int(port)
	return h, nil
}
