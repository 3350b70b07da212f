package binlog

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Location is where a transaction lies in a server's binary logs, and
// what it did first, so that an operator can tell what an errant
// transaction was.
type Location struct {
	GTID     gtid.Set // as written in the log (with the server id found there)
	File     string
	Pos      uint64 // start of its GTID event
	EndPos   uint64 // end of its last event; 0 when the log ended inside it
	ServerID uint32
	Query    string // its first statement: the query, or the statement behind its first rows (Annotate_rows, Rows_query) when the server logged it
	DB       string // the default database of that query
	Table    string // the first table its row events touch, "db.t"
}

// Position is where its GTID event starts.
func (l Location) Position() gtid.Position { return gtid.Position{File: l.File, Pos: l.Pos} }

// Target names a transaction to look for.
type Target struct {
	GTID gtid.Set // a single GTID
	// AnyServer matches a MariaDB GTID on domain and seq_no alone: between
	// two known positions of a domain the server ids of the transactions
	// are not known.
	AnyServer bool
}

// String is the GTID, with "*" for the server id when any matches.
func (t Target) String() string {
	if m, ok := t.GTID.MariaDB(); ok && t.AnyServer && len(m.GTIDs()) == 1 {
		g := m.GTIDs()[0]
		return fmt.Sprintf("%d-*-%d", g.Domain, g.Seq)
	}
	return t.GTID.String()
}

func (t Target) matches(g gtid.Set) bool {
	tm, ok1 := t.GTID.MariaDB()
	gm, ok2 := g.MariaDB()
	if !ok1 || !ok2 {
		return t.GTID.Equal(g)
	}
	a, b := tm.GTIDs(), gm.GTIDs()
	return len(a) == 1 && len(b) == 1 && a[0].Domain == b[0].Domain && a[0].Seq == b[0].Seq &&
		(t.AnyServer || a[0].Server == b[0].Server)
}

// LocateGTID finds the transaction g (one GTID) in sv's binary logs: the
// position of its GTID event, the file orchestrator's locate-gtid-errant
// would report, and its first statement and table. It returns nil when no
// binary log holds it: never written here, or purged. See Locate for how.
func LocateGTID(ctx context.Context, sv *server.Server, g gtid.Set) (*Location, error) {
	if !isSingle(g) {
		return nil, opError(sv, "locate_gtid", fmt.Errorf("gtid %s: want a single transaction's GTID", g))
	}
	locs, err := Locate(ctx, sv, []Target{{GTID: g}})
	if err != nil {
		return nil, err
	}
	return locs[0], nil
}

// Locate finds several transactions in one pass over sv's binary logs,
// newest file first: errant and recent transactions sit near the end.
//
// Every file starts with the GTID state at its start: MariaDB's Gtid_list
// event ("[0-1-5]": the last GTID of each domain and server) and MySQL's
// Previous_gtids event (the set of every earlier file), which is also how
// a MySQL primary finds where to start a replica that connects with GTID
// auto-positioning. A file whose header already holds the GTID is skipped
// without being read, so only the file that holds the transaction is
// scanned. (MariaDB's BINLOG_GTID_POS(file, pos) answers the opposite
// question, the GTID position at a file position, and would need a
// search over event boundaries.) On MariaDB "holds" means the header has
// the same domain and server with an equal or higher seq_no; without
// gtid_strict_mode a domain's seq_nos need not grow, which this trusts.
//
// The result has one entry per target, nil for those not found.
func Locate(ctx context.Context, sv *server.Server, targets []Target) ([]*Location, error) {
	fl, err := gtidFlavor(ctx, sv)
	if err != nil {
		return nil, relabel(err, "locate_gtid")
	}
	for _, t := range targets {
		if t.GTID.Flavor() != fl || !isSingle(t.GTID) {
			return nil, opError(sv, "locate_gtid", fmt.Errorf("gtid %s: want a single %s GTID", t, fl))
		}
	}
	logs, err := ListLogs(ctx, sv)
	if err != nil {
		return nil, relabel(err, "locate_gtid")
	}
	found := make([]*Location, len(targets))
	for i := len(logs) - 1; i >= 0 && remaining(found) > 0; i-- {
		want, err := candidates(ctx, sv, fl, logs[i].Name, targets, found)
		if err != nil {
			return nil, err
		}
		if len(want) == 0 {
			continue
		}
		if err := scanFile(ctx, sv, fl, logs[i].Name, targets, want, found); err != nil {
			return nil, err
		}
	}
	return found, nil
}

func remaining(found []*Location) int {
	n := 0
	for _, l := range found {
		if l == nil {
			n++
		}
	}
	return n
}

// candidates lists the targets not yet found that file may hold: those
// its header does not already contain.
func candidates(ctx context.Context, sv *server.Server, fl gtid.Flavor, file string, targets []Target, found []*Location) ([]int, error) {
	contains, err := fileHeader(ctx, sv, fl, file)
	if err != nil {
		return nil, err
	}
	var want []int
	for i, t := range targets {
		if found[i] == nil && !contains(t) {
			want = append(want, i)
		}
	}
	return want, nil
}

// fileHeader reads the GTID state at the start of file and returns a test
// for "this target was written before the file". Without a header (a log
// written before GTIDs were enabled) nothing is known to be earlier.
func fileHeader(ctx context.Context, sv *server.Server, fl gtid.Flavor, file string) (func(Target) bool, error) {
	// Format_desc, then (MariaDB with encrypted logs) Start_encryption,
	// then Gtid_list or Previous_gtids.
	q := fmt.Sprintf("SHOW BINLOG EVENTS IN %s LIMIT 4", flavor.QuoteString(file))
	res, err := sv.Query(ctx, q)
	if err != nil {
		return nil, relabel(err, "locate_gtid", "reading "+file)
	}
	for i := range res.Rows {
		row := res.Row(i)
		info, _ := row["Info"].(string)
		switch row["Event_type"] {
		case "Gtid_list":
			list, err := parseGTIDList(info)
			if err != nil {
				return nil, opError(sv, "locate_gtid", fmt.Errorf("%s: %w", file, err))
			}
			return func(t Target) bool { return listHolds(list, t) }, nil
		case "Previous_gtids":
			set, err := gtid.Parse(info, gtid.MySQL)
			if err != nil {
				return nil, opError(sv, "locate_gtid", fmt.Errorf("%s: previous_gtids %q: %w", file, info, err))
			}
			return func(t Target) bool { ok, _ := set.Contains(t.GTID); return ok }, nil
		}
	}
	return func(Target) bool { return false }, nil
}

func listHolds(list []gtid.MariaDBGTID, t Target) bool {
	m, _ := t.GTID.MariaDB()
	g := m.GTIDs()[0]
	for _, l := range list {
		if l.Domain == g.Domain && (t.AnyServer || l.Server == g.Server) && l.Seq >= g.Seq {
			return true
		}
	}
	return false
}

// scanFile reads file once with the SHOW reader and records the targets of
// want it meets, with their first statement and table.
func scanFile(ctx context.Context, sv *server.Server, fl gtid.Flavor, file string, targets []Target, want []int, found []*Location) error {
	r := newShowReader(sv, fl, gtid.Position{File: file, Pos: 4}, Options{PageSize: 1000})
	defer r.Close()
	var (
		txn  txnTracker
		cur  *Location // the target transaction being read
		left = len(want)
	)
	for {
		ev, err := r.Next(ctx)
		if errors.Is(err, io.EOF) || (err == nil && ev.File != file) {
			return nil
		}
		if err != nil {
			return relabel(err, "locate_gtid")
		}
		ends := txn.observe(&ev)
		if ev.Type == "gtid" {
			cur = nil
			for _, i := range want {
				if found[i] == nil && targets[i].matches(ev.GTID) {
					cur = &Location{GTID: ev.GTID, File: ev.File, Pos: ev.Pos, ServerID: ev.ServerID}
					found[i] = cur
					left--
				}
			}
			continue
		}
		if cur == nil {
			continue
		}
		cur.note(ev)
		if ends {
			cur.EndPos = ev.EndPos
			cur = nil
			if left == 0 {
				return nil
			}
		}
	}
}

// note keeps the first statement and the first table of the transaction.
func (l *Location) note(ev Event) {
	switch ev.Type {
	case "query":
		if l.Query == "" && ev.Query != "BEGIN" {
			l.Query, l.DB = ev.Query, ev.DB
		}
	case "annotate_rows", "rows_query":
		if l.Query == "" {
			l.Query = ev.Query
		}
	case "table_map":
		if l.Table == "" {
			l.Table = ev.Table
		}
	}
}
