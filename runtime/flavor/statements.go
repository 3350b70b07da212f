package flavor

import (
	"fmt"
	"strconv"
	"strings"
)

// Every statement here acts on the default replication channel (MySQL) or
// the default connection (MariaDB, default_master_connection = ''):
// replicant-lua does not drive multi-source replication.

// slave returns the old or the new word for the replica side, as gh-ost's
// terminology map does.
func (f Flavor) slave() string {
	if f.replicaVerbs() {
		return "REPLICA"
	}
	return "SLAVE"
}

// ReplicaStatusQuery returns the statement that shows the replica threads.
// Read its rows with ParseReplicaStatusRows.
//
// MariaDB gets SHOW ALL SLAVES STATUS, not SHOW SLAVE STATUS: only the ALL
// form has Gtid_Slave_Pos (the applied GTID position) and Connection_name,
// and it returns one row per connection, so a named connection cannot pass
// for the default one. Its other columns are those of SHOW SLAVE STATUS,
// with Master_*/Slave_* names on every MariaDB version (10.11, measured).
// MySQL 8.0.22+ returns the Source_*/Replica_* names.
func (f Flavor) ReplicaStatusQuery() string {
	if f.IsMariaDB() {
		return "SHOW ALL SLAVES STATUS"
	}
	return "SHOW " + f.slave() + " STATUS"
}

// BinlogStatusQuery returns the statement that shows the current binary
// log file and position (and, on MySQL, Executed_Gtid_Set). It returns no
// row when binary logging is off. Read the row with ParseBinlogStatus.
func (f Flavor) BinlogStatusQuery() string {
	switch {
	case f.binaryLogStatus():
		return "SHOW BINARY LOG STATUS"
	case f.binlogStatus():
		return "SHOW BINLOG STATUS"
	}
	return "SHOW MASTER STATUS"
}

// ShowReplicasQuery returns the statement that lists the replicas
// registered with this server (those started with report_host show their
// address). Read each row with ParseReplicaHost. MariaDB needs REPLICATION
// MASTER ADMIN for it (docs/MARIADB-FACTS.md).
func (f Flavor) ShowReplicasQuery() string {
	switch {
	case f.IsMariaDB() && f.replicaVerbs():
		return "SHOW REPLICA HOSTS"
	case f.replicaVerbs():
		return "SHOW REPLICAS"
	}
	return "SHOW SLAVE HOSTS"
}

// Threads selects the replication threads a start or stop acts on.
type Threads int

const (
	// BothThreads is the IO (receiver) and the SQL (applier) thread.
	BothThreads Threads = iota
	// IOThread is the receiver, which copies the source's binlog into the
	// relay log.
	IOThread
	// SQLThread is the applier, which executes the relay log.
	SQLThread
)

func (t Threads) String() string {
	switch t {
	case IOThread:
		return "io thread"
	case SQLThread:
		return "sql thread"
	}
	return "both threads"
}

// clause is the thread option of START/STOP; a value outside the three
// constants counts as both threads.
func (t Threads) clause() string {
	switch t {
	case IOThread:
		return " IO_THREAD"
	case SQLThread:
		return " SQL_THREAD"
	}
	return ""
}

// StartReplica returns START SLAVE/REPLICA for the given threads.
func (f Flavor) StartReplica(t Threads) string {
	return "START " + f.slave() + t.clause()
}

// StopReplica returns STOP SLAVE/REPLICA for the given threads.
//
// On MariaDB in GTID mode, once both threads are stopped the next START (or
// CHANGE MASTER) discards relay log events received but not applied
// (docs/MARIADB-FACTS.md): a failover that wants them applied stops the IO thread
// only and waits for the SQL thread.
func (f Flavor) StopReplica(t Threads) string {
	return "STOP " + f.slave() + t.clause()
}

// ResetReplica returns RESET SLAVE/REPLICA, with ALL when all is set. Plain
// RESET forgets the relay logs and the position but keeps the connection
// settings; ALL also forgets the source, so the server is no longer a
// replica. Neither touches the GTID state (gtid_executed on MySQL,
// gtid_slave_pos on MariaDB: "RESET SLAVE ALL leaves a stale gtid_slave_pos",
// docs/MARIADB-FACTS.md). The threads must be stopped first.
func (f Flavor) ResetReplica(all bool) string {
	s := "RESET " + f.slave()
	if all {
		s += " ALL"
	}
	return s
}

// ResetBinaryLogs returns the statement that deletes every binary log and,
// on MySQL, clears gtid_executed and gtid_purged (on MariaDB it clears
// gtid_binlog_state). Only for a server that nobody replicates from.
func (f Flavor) ResetBinaryLogs() string {
	if f.resetBinaryLogsAndGTIDs() {
		return "RESET BINARY LOGS AND GTIDS"
	}
	return "RESET MASTER"
}

// ReadOnly is the write fence a server is set to.
type ReadOnly int

const (
	// ReadWrite turns read_only (and super_read_only) off.
	ReadWrite ReadOnly = iota
	// ReadOnlyOn sets read_only: writes from ordinary accounts fail, but not
	// from SUPER (MySQL) or READ_ONLY ADMIN (MariaDB) accounts, nor from the
	// replication applier.
	ReadOnlyOn
	// SuperReadOnly sets read_only and super_read_only: SUPER accounts are
	// blocked too. MySQL only.
	SuperReadOnly
)

// SetReadOnly returns the statement that puts the server in mode m. Each
// mode sets both variables, so the result does not depend on the previous
// state: ReadOnlyOn on a server in super_read_only turns super_read_only off.
//
// Where there is no super_read_only (MariaDB, MySQL before 5.7.8) only
// read_only is set, and SuperReadOnly is an error rather than a silent
// ReadOnlyOn: a
// fence asked to keep admin accounts out must not report success while they
// can still write. Ask SupportsSuperReadOnly first, and where it is false
// kill the admin connections or hold FLUSH TABLES WITH READ LOCK.
func (f Flavor) SetReadOnly(m ReadOnly) (string, error) {
	if !f.SupportsSuperReadOnly() {
		switch m {
		case ReadWrite:
			return "SET GLOBAL read_only = OFF", nil
		case ReadOnlyOn:
			return "SET GLOBAL read_only = ON", nil
		case SuperReadOnly:
			if f.IsMariaDB() {
				return "", fmt.Errorf("%s has no super_read_only: read_only does not stop "+
					"READ_ONLY ADMIN accounts, so kill their connections or use FLUSH TABLES WITH READ LOCK", f)
			}
			return "", fmt.Errorf("%s has no super_read_only (MySQL 5.7.8 and later): read_only does not stop "+
				"SUPER accounts, so kill their connections or use FLUSH TABLES WITH READ LOCK", f)
		}
		return "", fmt.Errorf("unknown read-only mode %d", m)
	}
	// WL#6799: "When super_read_only is set to ON, read_only will also be
	// set to ON. When read_only is set to OFF, super_read_only will also be
	// set to OFF." The assignments run left to right, so each pair is
	// ordered to make the second agree with the first's implicit change.
	switch m {
	case ReadWrite:
		return "SET GLOBAL super_read_only = OFF, GLOBAL read_only = OFF", nil
	case ReadOnlyOn:
		return "SET GLOBAL super_read_only = OFF, GLOBAL read_only = ON", nil
	case SuperReadOnly:
		return "SET GLOBAL read_only = ON, GLOBAL super_read_only = ON", nil
	}
	return "", fmt.Errorf("unknown read-only mode %d", m)
}

// GTIDExecutedQuery returns a query for one row with one column,
// gtid_executed: the GTIDs this server has applied, whatever their origin.
//
// MySQL: @@GLOBAL.gtid_executed, every transaction committed here, logged
// or replicated (it is kept in mysql.gtid_executed even without
// log_replica_updates).
//
// MariaDB has three variables, each a list with one GTID per domain:
//   - gtid_binlog_pos: the last GTID written to this server's binary log,
//     local writes and (with log_slave_updates) replicated ones;
//   - gtid_slave_pos: the last GTID applied by the replica SQL thread; it is
//     what MASTER_USE_GTID=slave_pos resumes from, and it is empty on a
//     server that never replicated;
//   - gtid_current_pos: per domain, gtid_binlog_pos if that GTID was
//     written by this server (its own server_id) and is newer, otherwise
//     gtid_slave_pos.
//
// We return gtid_current_pos: on a primary it equals gtid_binlog_pos, on a
// replica it equals gtid_slave_pos, and it still counts replicated
// transactions on a replica without log_slave_updates, which is what ranking
// failover candidates needs (docs/MARIADB-FACTS.md: "pick the highest
// gtid_current_pos"). Read the other two through the server's variables.
func (f Flavor) GTIDExecutedQuery() string {
	if f.IsMariaDB() {
		return "SELECT @@GLOBAL.gtid_current_pos AS gtid_executed"
	}
	return "SELECT @@GLOBAL.gtid_executed AS gtid_executed"
}

// FlushTablesWithReadLock returns the statement that closes all tables and
// blocks every write, from any account, until the same session runs
// UnlockTables or disconnects. It waits for running statements to finish,
// so run it with a deadline.
func (f Flavor) FlushTablesWithReadLock() string { return "FLUSH TABLES WITH READ LOCK" }

// UnlockTables releases FlushTablesWithReadLock.
func (f Flavor) UnlockTables() string { return "UNLOCK TABLES" }

// ClientConnectionsQuery lists the connections that could still write:
// every session except this one, the server's own threads ('system user':
// the replica IO/SQL threads and workers on both flavors; 'event_scheduler')
// and the binlog dump threads that feed replicas ('Binlog Dump', 'Binlog
// Dump GTID' on MySQL), which a fence must keep. Sleeping sessions are
// included: one may hold an open transaction that it can still commit.
// Columns: ID, USER, HOST, DB, COMMAND, TIME, STATE, INFO.
//
// information_schema.PROCESSLIST exists on every supported version of both
// flavors; MySQL 8.0.35+ marks it deprecated (performance_schema.processlist
// needs performance_schema, often off on small MariaDB servers).
func (f Flavor) ClientConnectionsQuery() string {
	return "SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE, INFO " +
		"FROM information_schema.PROCESSLIST " +
		"WHERE ID <> CONNECTION_ID() " +
		"AND USER NOT IN ('system user', 'event_scheduler') " +
		"AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')"
}

// KillConnection returns the statement that ends connection id (the ID
// column of ClientConnectionsQuery), rolling back its open transaction.
func (f Flavor) KillConnection(id uint64) string {
	return "KILL CONNECTION " + strconv.FormatUint(id, 10)
}

// InstallBlackhole returns the statement that loads the BLACKHOLE storage
// engine where information_schema.ENGINES says it is missing (SUPPORT NO or
// no row). MariaDB ships it as the plugin library ha_blackhole and loads it
// with its own INSTALL SONAME, which MySQL does not parse; MySQL builds the
// engine in, and a build that does not installs it by plugin name and
// library ("INSTALL PLUGIN plugin_name SONAME 'shared_library_name'",
// refman, INSTALL PLUGIN). Both record it in mysql.plugin, which the server
// reads at startup, before it checks default_storage_engine.
func (f Flavor) InstallBlackhole() string {
	if f.IsMariaDB() {
		return "INSTALL SONAME 'ha_blackhole'"
	}
	return "INSTALL PLUGIN BLACKHOLE SONAME 'ha_blackhole.so'"
}

// TLSOfferedQuery returns a query for one row with one column, tls_offered,
// whose value TLSOffered reads: whether the server accepts TLS connections.
// A server without the variable or table returns an error; see
// tlsChannelStatus.
func (f Flavor) TLSOfferedQuery() string {
	if f.tlsChannelStatus() {
		return "SELECT VALUE AS tls_offered FROM performance_schema.tls_channel_status " +
			"WHERE CHANNEL = 'mysql_main' AND PROPERTY = 'Enabled'"
	}
	return "SELECT @@GLOBAL.have_ssl AS tls_offered"
}

// TLSOffered reads the tls_offered column of TLSOfferedQuery: have_ssl is
// YES, DISABLED (built with TLS, no certificate) or NO; tls_channel_status
// says Yes or No.
func TLSOffered(value string) bool { return strings.EqualFold(value, "yes") }
