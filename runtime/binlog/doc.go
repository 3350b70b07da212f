// Package binlog reads a server's binary logs: the list of files (SHOW
// BINARY LOGS), their events from a position or a GTID onward, and where a
// given transaction lies (LocateGTID, ErrantTransactions). It knows nothing
// of Lua.
//
// Two readers give the same Event values behind one interface, Reader:
//
//   - ReaderShow pages through SHOW BINLOG EVENTS IN 'file' FROM pos LIMIT n
//     on the server's session. It needs only BINLOG MONITOR (MariaDB 10.5.2+)
//     or REPLICATION SLAVE, registers nothing, and is audited like any
//     statement. The statement has no timestamp and no row data, so Time is
//     zero and Rows is RowsUnknown; everything else is parsed from the Info
//     column. Following new events means polling.
//   - ReaderStream connects as a replica (COM_REGISTER_SLAVE, then
//     COM_BINLOG_DUMP) through go-mysql's replication package, which no other
//     package of ours imports. It needs REPLICATION SLAVE, decodes row
//     events (so Rows is known), carries timestamps, and receives new events
//     as the server writes them. It registers a server_id of its own: one
//     that another replica of the same primary uses would make the primary
//     drop that replica's connection, so the default is random in a range
//     real deployments do not use, and checked against SHOW SLAVE HOSTS.
//
// Where they differ: ReaderShow has no Time and no Rows; ReaderStream
// reports as DB what the event carries, which for CREATE/DROP DATABASE is
// that database (SHOW BINLOG EVENTS prints no "use" for them); events
// decompressed from a MySQL Transaction_payload share its positions. The
// stream reader uses the server's TLS settings (verified as its SQL
// session is; "preferred" asks the server (have_ssl, or on MySQL 8.4
// tls_channel_status) first, since go-mysql has no
// plain-text fallback) and starts below 4 GiB into a file
// (COM_BINLOG_DUMP has 32 bits).
// Statement text has password literals redacted in both.
//
// Positions follow mysqlbinlog's --start-position and --stop-position: a
// reader starts at the event at From (which must begin an event) and stops
// before the first event at or after To. A GTID as From starts at that
// transaction's GTID event (located first, see LocateGTID); a GTID as To
// stops after that transaction's last event. Without Follow a reader stops
// at the end of the binary log as it was when it opened; with Follow it
// waits for new events until its context ends or a limit is reached.
package binlog
