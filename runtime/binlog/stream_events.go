package binlog

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// converter turns go-mysql's events into ours. It tracks the current file,
// which the protocol only states in Rotate events: the artificial one the
// server sends first ("you are reading this file") and the real one that
// ends each file.
type converter struct {
	file      string
	last      uint64            // end of the last event converted, for messages
	heartbeat gtid.Position     // where the server said it was when idle
	start     gtid.Position     // events before it are ones the server resends (the file's Format_desc)
	tables    map[uint64]string // table_id → "db.t" from Table_map events
	// After a reconnect: events of skipFile before skipBefore were
	// returned already; they are read again (Table_maps count) but not
	// queued.
	skipFile   string
	skipBefore uint64
}

// streamTypes maps go-mysql's event types to our vocabulary; the rest go
// through serverNames, the names SHOW BINLOG EVENTS uses, so that both
// readers agree.
var streamTypes = map[replication.EventType]string{
	replication.FORMAT_DESCRIPTION_EVENT:                "format_description",
	replication.QUERY_EVENT:                             "query",
	replication.MARIADB_QUERY_COMPRESSED_EVENT:          "query",
	replication.XID_EVENT:                               "xid",
	replication.ROTATE_EVENT:                            "rotate",
	replication.STOP_EVENT:                              "stop",
	replication.INTVAR_EVENT:                            "intvar",
	replication.RAND_EVENT:                              "rand",
	replication.USER_VAR_EVENT:                          "user_var",
	replication.INCIDENT_EVENT:                          "incident",
	replication.TABLE_MAP_EVENT:                         "table_map",
	replication.WRITE_ROWS_EVENTv0:                      "write_rows",
	replication.WRITE_ROWS_EVENTv1:                      "write_rows",
	replication.WRITE_ROWS_EVENTv2:                      "write_rows",
	replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1:  "write_rows",
	replication.UPDATE_ROWS_EVENTv0:                     "update_rows",
	replication.UPDATE_ROWS_EVENTv1:                     "update_rows",
	replication.UPDATE_ROWS_EVENTv2:                     "update_rows",
	replication.PARTIAL_UPDATE_ROWS_EVENT:               "update_rows",
	replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1: "update_rows",
	replication.DELETE_ROWS_EVENTv0:                     "delete_rows",
	replication.DELETE_ROWS_EVENTv1:                     "delete_rows",
	replication.DELETE_ROWS_EVENTv2:                     "delete_rows",
	replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1: "delete_rows",
	replication.ROWS_QUERY_EVENT:                        "rows_query",
	replication.GTID_EVENT:                              "gtid",
	replication.GTID_TAGGED_LOG_EVENT:                   "gtid",
	replication.ANONYMOUS_GTID_EVENT:                    "anonymous_gtid",
	replication.PREVIOUS_GTIDS_EVENT:                    "previous_gtids",
	replication.XA_PREPARE_LOG_EVENT:                    "xa_prepare",
	replication.TRANSACTION_PAYLOAD_EVENT:               "transaction_payload",
	replication.MARIADB_ANNOTATE_ROWS_EVENT:             "annotate_rows",
	replication.MARIADB_BINLOG_CHECKPOINT_EVENT:         "binlog_checkpoint",
	replication.MARIADB_GTID_EVENT:                      "gtid",
	replication.MARIADB_GTID_LIST_EVENT:                 "gtid_list",
	replication.MARIADB_START_ENCRYPTION_EVENT:          "start_encryption",
}

// where names the place in the log after the last event received.
func (c *converter) where() string {
	if c.last == 0 {
		return c.start.String()
	}
	return gtid.Position{File: c.file, Pos: c.last}.String()
}

// add converts be and appends what it yields to q: nothing for heartbeats
// and the server's artificial events, the event itself, and for a MySQL
// Transaction_payload also the events compressed inside it (SHOW BINLOG
// EVENTS prints them the same way), which share its positions.
func (c *converter) add(be *replication.BinlogEvent, q *[]Event) error {
	h := be.Header
	if hb, ok := be.Event.(*replication.HeartbeatEvent); ok {
		pos := uint64(h.LogPos)
		if hb.Version == 2 {
			pos = hb.Offset
		}
		c.heartbeat = gtid.Position{File: hb.Filename, Pos: pos}
		return nil
	}
	artificial := h.LogPos == 0 || h.Flags&replication.LOG_EVENT_ARTIFICIAL_F != 0
	if rot, ok := be.Event.(*replication.RotateEvent); ok && artificial {
		// "The stream continues in this file": sent first, and (MySQL)
		// after each real Rotate.
		c.file = string(rot.NextLogName)
		return nil
	}
	if artificial || h.LogPos < h.EventSize {
		return nil
	}
	pos := uint64(h.LogPos - h.EventSize)
	if c.file == c.start.File && pos < c.start.Pos {
		return nil // the file's Format_desc, resent when starting past it
	}
	ev, err := c.convert(be, pos, uint64(h.LogPos))
	if err != nil {
		return err
	}
	c.last = ev.EndPos
	returned := c.file == c.skipFile && pos < c.skipBefore
	if !returned {
		*q = append(*q, ev)
	}
	if tp, ok := be.Event.(*replication.TransactionPayloadEvent); ok {
		for _, inner := range tp.Events {
			iev, err := c.convert(inner, pos, uint64(h.LogPos))
			if err != nil {
				return err
			}
			if !returned {
				*q = append(*q, iev)
			}
		}
	}
	if ev.Type == "rotate" {
		c.file = ev.NextFile
	}
	return nil
}

// convert fills an Event from one decoded event at pos..end of the current
// file.
func (c *converter) convert(be *replication.BinlogEvent, pos, end uint64) (Event, error) {
	h := be.Header
	ev := Event{File: c.file, Pos: pos, EndPos: end, ServerID: h.ServerID,
		Time: time.Unix(int64(h.Timestamp), 0)}
	ev.Type = streamTypes[h.EventType]
	if ev.Type == "" {
		ev.Type = "unknown_" + strconv.Itoa(int(h.EventType))
	}
	switch e := be.Event.(type) {
	case *replication.QueryEvent:
		ev.Query, ev.DB = redactPasswords(string(e.Query)), string(e.Schema)
	case *replication.XIDEvent:
		ev.Xid = e.XID
	case *replication.RotateEvent:
		ev.NextFile, ev.NextPos = string(e.NextLogName), e.Position
	case *replication.TableMapEvent:
		ev.TableID, ev.Table = e.TableID, string(e.Schema)+"."+string(e.Table)
		c.tables[e.TableID] = ev.Table
	case *replication.RowsEvent:
		ev.TableID, ev.Table, ev.Rows = e.TableID, c.tables[e.TableID], rowCount(e, h.EventType)
	case *replication.MariadbAnnotateRowsEvent:
		ev.Query = redactPasswords(string(e.Query))
	case *replication.RowsQueryEvent:
		ev.Query = redactPasswords(string(e.Query))
	case *replication.MariadbGTIDEvent:
		g := gtid.MariaDBGTID{Domain: e.GTID.DomainID, Server: e.GTID.ServerID, Seq: e.GTID.SequenceNumber}
		ev.GTID, ev.begin = g.AsSet().AsSet(), !e.IsStandalone()
	case *replication.GTIDEvent:
		return c.mysqlGTID(ev, e, "")
	case *replication.GtidTaggedLogEvent:
		return c.mysqlGTID(ev, &e.GTIDEvent, e.Tag.String())
	}
	return ev, nil
}

// mysqlGTID sets the GTID of a MySQL Gtid or Gtid_tagged event. An
// anonymous one (GTID_NEXT='ANONYMOUS', all-zero UUID) has none.
func (c *converter) mysqlGTID(ev Event, e *replication.GTIDEvent, tag string) (Event, error) {
	if ev.Type == "anonymous_gtid" || len(e.SID) != 16 {
		return ev, nil
	}
	u := hex.EncodeToString(e.SID)
	text := u[0:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:] + ":"
	if tag != "" {
		text += tag + ":"
	}
	g, err := gtid.ParseGTID(text+strconv.FormatInt(e.GNO, 10), gtid.MySQL)
	if err != nil {
		return ev, fmt.Errorf("gtid event at %s: %w", ev.Position(), err)
	}
	ev.GTID = g
	return ev, nil
}

// rowCount counts the rows of a decoded row event: go-mysql keeps an
// update's before and after images as two entries of Rows.
func rowCount(e *replication.RowsEvent, t replication.EventType) int {
	if e.Rows == nil {
		return RowsUnknown
	}
	switch t {
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2,
		replication.PARTIAL_UPDATE_ROWS_EVENT, replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1:
		return len(e.Rows) / 2
	}
	return len(e.Rows)
}
