package flavor

// Every version boundary the package encodes lives in this file, each with
// the manual page that states it, so that a wrong boundary has one place to
// be fixed. The zero Flavor (Kind Unknown, 0.0.0) takes the MySQL branches
// with their oldest syntax, which MySQL 5.7 through 8.3 all accept.

// replicaVerbs: START/STOP/RESET REPLICA, SHOW REPLICA STATUS and SHOW
// REPLICAS (MySQL) or SHOW REPLICA HOSTS (MariaDB) instead of the SLAVE forms.
//
// MySQL 8.0.22: "From MySQL 8.0.22, use START REPLICA in place of START
// SLAVE, which is deprecated from that release" (refman 8.0, START REPLICA;
// the same sentence stands on RESET REPLICA, SHOW REPLICA STATUS and SHOW
// REPLICAS). MySQL 8.4 removed the SLAVE forms.
//
// MariaDB 10.5.1: "START SLAVE (START REPLICA from MariaDB 10.5.1)"; "SHOW
// REPLICA HOSTS -- from MariaDB 10.5.1" (MariaDB KB, START SLAVE and SHOW
// REPLICA HOSTS). The SLAVE forms remain valid on MariaDB.
func (f Flavor) replicaVerbs() bool {
	if f.IsMariaDB() {
		return f.AtLeast(10, 5, 1)
	}
	return f.AtLeast(8, 0, 22)
}

// sourceOptions: CHANGE REPLICATION SOURCE TO with SOURCE_* options, and
// SOURCE_LOG_FILE/SOURCE_LOG_POS in START REPLICA UNTIL. MySQL 8.0.23:
// "execute the CHANGE REPLICATION SOURCE TO statement (from MySQL 8.0.23) or
// CHANGE MASTER TO statement (before MySQL 8.0.23)" (refman 8.0, 19.1.2.7).
// MariaDB has neither: CHANGE REPLICATION SOURCE TO is a syntax error on
// 10.11 (measured, docs/MARIADB-FACTS.md).
func (f Flavor) sourceOptions() bool {
	return !f.IsMariaDB() && f.AtLeast(8, 0, 23)
}

// sourcePosWait: SOURCE_POS_WAIT(). MySQL 8.0.26: "From MySQL 8.0.26,
// MASTER_POS_WAIT() is deprecated and the alias SOURCE_POS_WAIT() should be
// used instead. In releases before MySQL 8.0.26, use MASTER_POS_WAIT()"
// (refman 8.0, 14.18.4). MariaDB only has MASTER_POS_WAIT().
func (f Flavor) sourcePosWait() bool {
	return !f.IsMariaDB() && f.AtLeast(8, 0, 26)
}

// binaryLogStatus: SHOW BINARY LOG STATUS. MySQL 8.2.0: "This statement is
// added in MySQL 8.2.0 as a replacement for SHOW MASTER STATUS, which is now
// deprecated" (refman, SHOW BINARY LOG STATUS); 8.4 lists SHOW MASTER STATUS
// as "no longer supported".
func (f Flavor) binaryLogStatus() bool {
	return !f.IsMariaDB() && f.AtLeast(8, 2, 0)
}

// binlogStatus: MariaDB's SHOW BINLOG STATUS. "SHOW MASTER STATUS was renamed
// to SHOW BINLOG STATUS in MariaDB 10.5.2, but the old name remains an alias"
// (MariaDB KB, SHOW BINLOG STATUS). SHOW BINARY LOG STATUS is a syntax error
// on MariaDB 10.11 (measured).
func (f Flavor) binlogStatus() bool {
	return f.IsMariaDB() && f.AtLeast(10, 5, 2)
}

// resetBinaryLogsAndGTIDs: RESET BINARY LOGS AND GTIDS instead of RESET
// MASTER. MySQL 8.2.0 added it and deprecated RESET MASTER in the same
// release as SHOW BINARY LOG STATUS (8.2.0 release notes: "RESET BINARY LOGS
// AND GTIDS ... should be used instead" of RESET MASTER); the 8.4 manual:
// "This statement takes the place of the old RESET MASTER statement, which
// is no longer supported". MariaDB only has RESET MASTER.
func (f Flavor) resetBinaryLogsAndGTIDs() bool {
	return !f.IsMariaDB() && f.AtLeast(8, 2, 0)
}

// tlsChannelStatus: MySQL 8.4 removed have_ssl (deprecated from 8.0.26:
// "use the performance_schema tls_channel_status table instead"); that
// table (8.0.21+) has one row per channel and property, and the
// mysql_main channel's Enabled property is Yes or No. Before 8.4 we keep
// @@have_ssl, which needs no performance_schema (MariaDB has only that).
func (f Flavor) tlsChannelStatus() bool {
	return !f.IsMariaDB() && f.AtLeast(8, 4, 0)
}

// sourcePublicKey: GET_MASTER_PUBLIC_KEY and MASTER_PUBLIC_KEY_PATH (MySQL
// 8.0.4+, SOURCE_* from 8.0.23). From 8.0.4 new accounts default to
// caching_sha2_password, whose full authentication over a connection
// without TLS needs the server's RSA public key: "If you do not use a
// secure connection you must specify the SOURCE_PUBLIC_KEY_PATH or
// GET_SOURCE_PUBLIC_KEY option" (refman 8.4, 19.1.2.3 ... caching_sha2);
// without it the receiver fails with error 2061 ("Authentication plugin
// 'caching_sha2_password' reported error: Authentication requires secure
// connection"). MariaDB has neither the plugin nor the options.
func (f Flavor) sourcePublicKey() bool {
	return !f.IsMariaDB() && f.AtLeast(8, 0, 4)
}

// NeedsSourcePublicKey reports whether a replication connection without TLS
// must fetch (ChangeSourceOptions.GetSourcePublicKey) or be given
// (SourcePublicKeyPath) the source's RSA public key to log in with an
// account of the server's default authentication plugin.
func (f Flavor) NeedsSourcePublicKey() bool { return f.sourcePublicKey() }

// SupportsSuperReadOnly reports whether the server has super_read_only,
// which also blocks writes from accounts with SUPER: MySQL 5.7.8 and later
// ("super_read_only ... Introduced 5.7.8", refman 5.7, server system
// variables; WL#6799). Older MySQL answers "Unknown system variable".
// MariaDB has no such variable ("Unknown system variable 'super_read_only'",
// 10.11, measured); there read_only does not stop holders of READ_ONLY ADMIN,
// so a fence must also kill their connections or hold FLUSH TABLES WITH READ
// LOCK.
func (f Flavor) SupportsSuperReadOnly() bool {
	return !f.IsMariaDB() && f.AtLeast(5, 7, 8)
}

// SupportsDemoteToReplica reports whether CHANGE MASTER accepts
// MASTER_DEMOTE_TO_SLAVE=1, which merges gtid_binlog_pos into gtid_slave_pos
// so that an old primary can follow a new one with slave_pos. It is new in
// MariaDB 10.10 (MDEV-20122, which also deprecates MASTER_USE_GTID=current_pos
// in its favour); MySQL has nothing like it.
func (f Flavor) SupportsDemoteToReplica() bool {
	return f.IsMariaDB() && f.AtLeast(10, 10, 0)
}

// semiSyncBuiltIn: MariaDB 10.3.3 built semi-synchronous replication into
// the server: "the semisynchronous replication plugin ... no longer needs
// to be installed" (MariaDB KB, Semisynchronous Replication); its variables
// keep the rpl_semi_sync_master_*/slave_* names on every later version.
// MySQL always needs INSTALL PLUGIN.
func (f Flavor) semiSyncBuiltIn() bool {
	return f.IsMariaDB() && f.AtLeast(10, 3, 3)
}

// semiSyncSourceNames: the rpl_semi_sync_source / rpl_semi_sync_replica
// plugins (semisync_source.so, semisync_replica.so), whose variables and
// status are rpl_semi_sync_source_* / rpl_semi_sync_replica_*. MySQL 8.0.26:
// "From MySQL 8.0.26, new versions of the source and replica plugins are
// supplied, which replace the terms master and slave with source and
// replica" (refman 8.0, 19.4.10.1); MySQL 8.4 ships only the new ones.
func (f Flavor) semiSyncSourceNames() bool {
	return !f.IsMariaDB() && f.AtLeast(8, 0, 26)
}
