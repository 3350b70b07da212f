package binlog

import (
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// RowsUnknown is Event.Rows when the reader cannot count rows: always for
// ReaderShow (SHOW BINLOG EVENTS prints "table_id: 33 flags: STMT_END_F"
// and nothing about the rows), and for ReaderStream when the row event could
// not be decoded (its Table_map came before the start position).
const RowsUnknown = -1

// Event is one binary log event in a vocabulary common to both readers and
// both flavors. Fields that do not apply to the type are zero.
type Event struct {
	// Type is lower snake case: "format_description", "gtid_list"
	// (MariaDB), "previous_gtids" (MySQL), "binlog_checkpoint", "gtid",
	// "anonymous_gtid", "query", "annotate_rows", "rows_query", "table_map",
	// "write_rows", "update_rows", "delete_rows", "xid", "rotate", "stop",
	// "intvar", "user_var", "rand", "transaction_payload", ... Row events
	// lose their version suffix (Write_rows_v1 and WRITE_ROWS_EVENTv2 are
	// both "write_rows").
	Type string

	File     string    // binary log file that holds the event
	Pos      uint64    // where the event starts
	EndPos   uint64    // where the next event starts (End_log_pos)
	Time     time.Time // when the server wrote it; zero for ReaderShow
	ServerID uint32    // server_id of the server that first wrote it

	// GTID is the transaction the event belongs to: set on the GTID event
	// and on every later event of its transaction. It is the zero Set for
	// events outside a transaction, before the first GTID event a reader
	// saw, and for anonymous transactions (MySQL without GTIDs).
	GTID gtid.Set

	// Query is the statement of a query event, or the statement behind
	// the rows (annotate_rows, rows_query), with password literals
	// replaced by '<redacted>' (redactPasswords).
	Query    string
	DB       string // query: the default database it ran in ("" when none)
	Xid      uint64 // xid: the storage engine's transaction id
	NextFile string // rotate: the file the log continues in
	NextPos  uint64 // rotate: its position there (4)
	TableID  uint64 // table_map and row events
	Table    string // table_map and row events: "db.table" ("" when the map was not seen)
	Rows     int    // row events: rows inserted, updated or deleted; RowsUnknown when unknown

	// Info is the Info column of SHOW BINLOG EVENTS, verbatim (ReaderShow
	// only).
	Info string

	// begin is set on a GTID event that opens a multi-statement group:
	// MariaDB writes "BEGIN GTID 0-1-3" for it (the GTID event stands for
	// the BEGIN) and "GTID 0-1-2" for a standalone DDL statement.
	begin bool
}

// Position is where the event starts.
func (e Event) Position() gtid.Position { return gtid.Position{File: e.File, Pos: e.Pos} }

// IsRows reports whether e is a row event.
func (e Event) IsRows() bool {
	switch e.Type {
	case "write_rows", "update_rows", "delete_rows":
		return true
	}
	return false
}

// typeNames maps SHOW BINLOG EVENTS' Event_type (MariaDB 10.11 and MySQL
// 8.4 spellings) to our vocabulary. A name that is not here is lowered and
// its spaces replaced ("User var" → "user_var").
var typeNames = map[string]string{
	"Format_desc":               "format_description",
	"Gtid":                      "gtid",
	"Gtid_tagged":               "gtid",
	"Anonymous_Gtid":            "anonymous_gtid",
	"Write_rows_v1":             "write_rows",
	"Update_rows_v1":            "update_rows",
	"Delete_rows_v1":            "delete_rows",
	"Write_rows_compressed_v1":  "write_rows",
	"Update_rows_compressed_v1": "update_rows",
	"Delete_rows_compressed_v1": "delete_rows",
	"Partial_update_rows":       "update_rows",
	"Query_compressed":          "query",
}

func normalizeType(serverName string) string {
	if t, ok := typeNames[serverName]; ok {
		return t
	}
	return strings.ReplaceAll(strings.ToLower(serverName), " ", "_")
}

// txnTracker carries a transaction's GTID onto the events after its GTID
// event and tells where the transaction ends, for ToGTID. A transaction
// ends at an Xid event, at a COMMIT or ROLLBACK query, or, when the GTID
// event did not open a group and no BEGIN query followed (a DDL
// statement), at its first query.
type txnTracker struct {
	current gtid.Set
	begun   bool
	open    bool
}

// observe sets ev.GTID and reports whether ev is the last event of its
// transaction.
func (t *txnTracker) observe(ev *Event) (ends bool) {
	switch ev.Type {
	case "gtid":
		t.current, t.begun, t.open = ev.GTID, ev.begin, true
		return false
	case "anonymous_gtid":
		t.current, t.begun, t.open = gtid.Set{}, false, true
		return false
	}
	if !t.open {
		return false
	}
	ev.GTID = t.current
	switch ev.Type {
	case "xid", "xa_prepare":
		// An XA transaction is binlogged as two groups: XA START ...
		// XA PREPARE, and later XA COMMIT on its own.
		t.open = false
	case "query":
		switch q := strings.ToUpper(strings.TrimSpace(ev.Query)); {
		case q == "BEGIN" || strings.HasPrefix(q, "XA START"):
			t.begun = true
		case !t.begun || q == "COMMIT" || q == "ROLLBACK":
			t.open = false
		}
	}
	return !t.open
}
