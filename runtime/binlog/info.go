package binlog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// parseInfo fills the fields of ev that SHOW BINLOG EVENTS' Info column
// holds for its type. The formats, as MariaDB 10.11 prints them (MySQL's
// differ where noted):
//
//	Gtid           BEGIN GTID 0-1-3 | GTID 0-1-1 (a DDL statement, no group) | GTID 0-1-7 ddl
//	               MySQL: SET @@SESSION.GTID_NEXT= '3e11fa47-…:23' (8.4 tagged: 'uuid:tag:23')
//	Query          CREATE DATABASE d1 | use `d1`; CREATE TABLE t (…)
//	Annotate_rows  INSERT INTO d1.t VALUES (1,'a'),(2,'b'),(3,'c')
//	Rows_query     # INSERT INTO … (MySQL, with binlog_rows_query_log_events)
//	Table_map      table_id: 18 (d1.t)
//	Write_rows_v1  table_id: 18 flags: STMT_END_F
//	Xid            COMMIT /* xid=7 */
//	Rotate         mysql-bin.000002;pos=4
//
// Password literals in statements are redacted (see redactPasswords). A
// GTID event whose GTID does not parse is an error: a reader that
// silently lost GTIDs would make LocateGTID and ToGTID miss transactions.
func parseInfo(ev *Event, info string, fl gtid.Flavor) error {
	switch ev.Type {
	case "query", "annotate_rows", "rows_query":
		info = redactPasswords(info)
	}
	ev.Info = info
	switch ev.Type {
	case "gtid":
		return parseGTIDInfo(ev, info, fl)
	case "query":
		ev.DB, ev.Query = splitUse(info)
	case "annotate_rows":
		ev.Query = info
	case "rows_query":
		ev.Query = strings.TrimPrefix(info, "# ")
	case "xid":
		ev.Xid = xidOf(info)
	case "rotate":
		file, pos, ok := strings.Cut(info, ";pos=")
		ev.NextFile = file
		if ok {
			ev.NextPos, _ = strconv.ParseUint(pos, 10, 64)
		}
	case "table_map":
		ev.TableID, ev.Table = tableMapOf(info)
	case "write_rows", "update_rows", "delete_rows":
		ev.TableID = tableIDOf(info)
	}
	return nil
}

func parseGTIDInfo(ev *Event, info string, fl gtid.Flavor) error {
	var text string
	if fl == gtid.MySQL {
		// SET @@SESSION.GTID_NEXT= 'uuid:23'
		_, rest, ok := strings.Cut(info, "'")
		text, _, _ = strings.Cut(rest, "'")
		if !ok || text == "" {
			return fmt.Errorf("gtid event at %s: unexpected info %q", ev.Position(), info)
		}
	} else {
		// [BEGIN] GTID 0-1-3 [ddl|cid=…]; an XA transaction reads
		// "XA START X'…',X'',1 GTID 0-1-5".
		fields := strings.Fields(info)
		for i, f := range fields {
			if f == "GTID" && i+1 < len(fields) {
				text = fields[i+1]
				break
			}
		}
		ev.begin = strings.HasPrefix(info, "BEGIN ") || strings.HasPrefix(info, "XA START")
	}
	g, err := gtid.ParseGTID(text, fl)
	if err != nil {
		return fmt.Errorf("gtid event at %s: info %q: %w", ev.Position(), info, err)
	}
	ev.GTID = g
	return nil
}

// splitUse separates the "use `db`; " that the server puts before a
// statement run with a default database. A backtick inside the name is
// doubled, as in any quoted identifier.
func splitUse(info string) (db, query string) {
	rest, ok := strings.CutPrefix(info, "use `")
	if !ok {
		return "", info
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		if rest[i] != '`' {
			b.WriteByte(rest[i])
			continue
		}
		if i+1 < len(rest) && rest[i+1] == '`' {
			b.WriteByte('`')
			i++
			continue
		}
		q, ok := strings.CutPrefix(rest[i+1:], "; ")
		if !ok {
			return "", info
		}
		return b.String(), q
	}
	return "", info
}

// xidOf reads "COMMIT /* xid=24 */".
func xidOf(info string) uint64 {
	_, rest, ok := strings.Cut(info, "xid=")
	if !ok {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "*/")), 10, 64)
	return n
}

// tableIDOf reads the number after "table_id: ".
func tableIDOf(info string) uint64 {
	_, rest, ok := strings.Cut(info, "table_id: ")
	if !ok {
		return 0
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	n, _ := strconv.ParseUint(rest[:end], 10, 64)
	return n
}

// tableMapOf reads "table_id: 18 (d1.t)". The server prints the names
// unquoted, so a dot inside a name cannot be told apart; Table keeps the
// text as printed.
func tableMapOf(info string) (uint64, string) {
	id := tableIDOf(info)
	open := strings.IndexByte(info, '(')
	if open < 0 || !strings.HasSuffix(info, ")") {
		return id, ""
	}
	return id, info[open+1 : len(info)-1]
}

// parseGTIDList reads a MariaDB Gtid_list Info, "[0-1-5,0-2-3]" (one GTID
// per domain and server: the binlog state when the file was started).
func parseGTIDList(info string) ([]gtid.MariaDBGTID, error) {
	inner := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(info), "["), "]")
	var out []gtid.MariaDBGTID
	for _, f := range strings.Split(inner, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		g, err := gtid.ParseMariaDBGTID(f)
		if err != nil {
			return nil, fmt.Errorf("gtid_list %q: %w", info, err)
		}
		out = append(out, g)
	}
	return out, nil
}
