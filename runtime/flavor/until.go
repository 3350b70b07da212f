package flavor

import (
	"fmt"
	"strconv"
	"strings"
)

// UntilKind is where START REPLICA UNTIL stops the SQL thread.
type UntilKind int

const (
	// UntilSourcePosition stops once the applier reaches a position in the
	// source's binary log.
	UntilSourcePosition UntilKind = iota + 1
	// UntilAfterGTIDs stops once every GTID of a set has been applied
	// (MySQL SQL_AFTER_GTIDS, MariaDB master_gtid_pos).
	UntilAfterGTIDs
	// UntilBeforeGTIDs stops before the first transaction of a set (MySQL
	// SQL_BEFORE_GTIDS; MariaDB has no equivalent).
	UntilBeforeGTIDs
)

// Until is a stop condition for StartReplicaUntil. Build it with
// UntilPosition, UntilAfter or UntilBefore.
type Until struct {
	Kind  UntilKind
	File  string // source binlog file, for UntilSourcePosition
	Pos   uint64 // position in File
	GTIDs string // GTID set (MySQL) or position (MariaDB), for the GTID kinds
}

// UntilPosition stops at file:pos of the source's binary log.
func UntilPosition(file string, pos uint64) Until {
	return Until{Kind: UntilSourcePosition, File: file, Pos: pos}
}

// UntilAfter stops once gtids have all been applied.
func UntilAfter(gtids string) Until { return Until{Kind: UntilAfterGTIDs, GTIDs: gtids} }

// UntilBefore stops just before the first of gtids is applied (MySQL only).
func UntilBefore(gtids string) Until { return Until{Kind: UntilBeforeGTIDs, GTIDs: gtids} }

// StartReplicaUntil returns START SLAVE/REPLICA ... UNTIL for threads t
// (BothThreads or SQLThread: the UNTIL clause belongs to the SQL thread; the
// IO thread alone would ignore it). Once the condition is met the SQL thread
// stops; check Until_Condition in the status, or wait for the position.
//
// MariaDB: UNTIL master_gtid_pos needs both threads; with SQL_THREAD the
// server answers "ERROR 1277 Incorrect parameter or combination of
// parameters for START SLAVE UNTIL" (10.11.19, measured), and when reached
// it stops both threads.
func (f Flavor) StartReplicaUntil(t Threads, u Until) (string, error) {
	if t != BothThreads && t != SQLThread {
		return "", fmt.Errorf("start replica until: needs the SQL thread, not the %s alone", t)
	}
	head := f.StartReplica(t) + " UNTIL "
	switch u.Kind {
	case UntilSourcePosition:
		if err := checkBinlogFile(u.File, u.Pos); err != nil {
			return "", fmt.Errorf("start replica until: %w", err)
		}
		prefix := "MASTER_"
		if f.sourceOptions() {
			prefix = "SOURCE_"
		}
		return head + prefix + "LOG_FILE = " + QuoteString(u.File) + ", " +
			prefix + "LOG_POS = " + strconv.FormatUint(u.Pos, 10), nil
	case UntilAfterGTIDs, UntilBeforeGTIDs:
		return f.untilGTIDs(t, u, head)
	}
	return "", fmt.Errorf("start replica until: unknown until kind %d", u.Kind)
}

func (f Flavor) untilGTIDs(t Threads, u Until, head string) (string, error) {
	gtids, err := normalizeGTIDs(u.GTIDs)
	if err != nil {
		return "", fmt.Errorf("start replica until: %w", err)
	}
	if !f.IsMariaDB() {
		option := "SQL_AFTER_GTIDS"
		if u.Kind == UntilBeforeGTIDs {
			option = "SQL_BEFORE_GTIDS"
		}
		return head + option + " = " + QuoteString(gtids), nil
	}
	if u.Kind == UntilBeforeGTIDs {
		return "", fmt.Errorf("start replica until: %s has no SQL_BEFORE_GTIDS; "+
			"stop after the previous GTID with UntilAfter", f)
	}
	if t != BothThreads {
		return "", fmt.Errorf("start replica until: %s accepts UNTIL master_gtid_pos only "+
			"when starting both threads", f)
	}
	return head + "master_gtid_pos = " + QuoteString(gtids), nil
}

// checkBinlogFile rejects what cannot be a binary log coordinate. Real
// file names are plain base names; refusing quotes, backslashes and control
// characters also keeps their literal the same under every sql_mode.
// Position 4 is the first event, after the 4-byte magic number.
func checkBinlogFile(file string, pos uint64) error {
	if file == "" {
		return fmt.Errorf("binlog position needs a file name")
	}
	for i := 0; i < len(file); i++ {
		if c := file[i]; c < 0x20 || c == 0x7f || c == '\'' || c == '\\' {
			return fmt.Errorf("binlog file name %q: character %q not allowed", file, c)
		}
	}
	if pos < 4 {
		return fmt.Errorf("binlog position %s:%d: positions start at 4", file, pos)
	}
	return nil
}

// normalizeGTIDs drops the whitespace the servers print and accept inside
// GTID sets (gtid_executed has a newline after each comma) and rejects any
// character that belongs to neither a MySQL set (uuid[:tag]:1-5,...) nor a
// MariaDB position (0-1-5,...). What is left needs no escaping.
func normalizeGTIDs(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z',
			c == ':', c == ',', c == '-', c == '_':
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("GTID set %q: character %q not allowed", s, c)
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("empty GTID set")
	}
	return b.String(), nil
}
