package binlog

import (
	"reflect"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"

// Info texts as MariaDB 10.11 prints them (seen in the sandbox) and as
// MySQL 8.0/8.4 do (refman, SHOW BINLOG EVENTS and mysqlbinlog output).
func TestParseInfo(t *testing.T) {
	for _, c := range []struct {
		typ, info string
		fl        gtid.Flavor
		want      Event
	}{
		{"gtid", "BEGIN GTID 0-1-3", gtid.MariaDB, Event{GTID: mustGTID(t, "0-1-3", gtid.MariaDB), begin: true}},
		{"gtid", "GTID 0-1-1", gtid.MariaDB, Event{GTID: mustGTID(t, "0-1-1", gtid.MariaDB)}},
		{"gtid", "GTID 0-1-6 ddl", gtid.MariaDB, Event{GTID: mustGTID(t, "0-1-6", gtid.MariaDB)}},
		{"gtid", "BEGIN GTID 2-3-18446744073709551615 cid=40", gtid.MariaDB,
			Event{GTID: mustGTID(t, "2-3-18446744073709551615", gtid.MariaDB), begin: true}},
		{"gtid", "SET @@SESSION.GTID_NEXT= '" + uuid + ":23'", gtid.MySQL, Event{GTID: mustGTID(t, uuid+":23", gtid.MySQL)}},
		{"gtid", "SET @@SESSION.GTID_NEXT= '" + uuid + ":Blue:7'", gtid.MySQL, Event{GTID: mustGTID(t, uuid+":blue:7", gtid.MySQL)}},
		{"query", "CREATE DATABASE d1", gtid.MariaDB, Event{Query: "CREATE DATABASE d1"}},
		{"query", "use `d1`; CREATE TABLE t (id INT)", gtid.MariaDB, Event{DB: "d1", Query: "CREATE TABLE t (id INT)"}},
		{"query", "use `we``ird`; DROP TABLE x", gtid.MySQL, Event{DB: "we`ird", Query: "DROP TABLE x"}},
		{"query", "use `unterminated", gtid.MySQL, Event{Query: "use `unterminated"}},
		{"xid", "COMMIT /* xid=24 */", gtid.MariaDB, Event{Xid: 24}},
		{"rotate", "mysql-bin.000002;pos=4", gtid.MariaDB, Event{NextFile: "mysql-bin.000002", NextPos: 4}},
		{"table_map", "table_id: 33 (db.t)", gtid.MariaDB, Event{TableID: 33, Table: "db.t"}},
		{"write_rows", "table_id: 33 flags: STMT_END_F", gtid.MariaDB, Event{TableID: 33}},
		{"update_rows", "table_id: 108", gtid.MySQL, Event{TableID: 108}},
		{"annotate_rows", "INSERT INTO t VALUES (1)", gtid.MariaDB, Event{Query: "INSERT INTO t VALUES (1)"}},
		{"rows_query", "# INSERT INTO t VALUES (1)", gtid.MySQL, Event{Query: "INSERT INTO t VALUES (1)"}},
	} {
		ev := Event{Type: c.typ}
		if err := parseInfo(&ev, c.info, c.fl); err != nil {
			t.Errorf("%s %q: %v", c.typ, c.info, err)
			continue
		}
		c.want.Type, c.want.Info = c.typ, c.info
		if !ev.GTID.Equal(c.want.GTID) {
			t.Errorf("%s %q: gtid %s, want %s", c.typ, c.info, ev.GTID, c.want.GTID)
		}
		ev.GTID, c.want.GTID = gtid.Set{}, gtid.Set{}
		if !reflect.DeepEqual(ev, c.want) {
			t.Errorf("%s %q:\n got %+v\nwant %+v", c.typ, c.info, ev, c.want)
		}
	}
	for _, bad := range []string{"GTID", "BEGIN GTID x-1-2", "SET @@SESSION.GTID_NEXT= 'ANONYMOUS'"} {
		ev := Event{Type: "gtid"}
		fl := gtid.MariaDB
		if strings.HasPrefix(bad, "SET") {
			fl = gtid.MySQL
		}
		if err := parseInfo(&ev, bad, fl); err == nil {
			t.Errorf("gtid info %q: no error", bad)
		}
	}
}

func mustGTID(t *testing.T, text string, fl gtid.Flavor) gtid.Set {
	t.Helper()
	g, err := gtid.ParseGTID(text, fl)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestNormalizeType(t *testing.T) {
	for in, want := range map[string]string{
		"Format_desc": "format_description", "Write_rows_v1": "write_rows", "Write_rows": "write_rows",
		"Gtid_tagged": "gtid", "Gtid_list": "gtid_list", "User var": "user_var", "Xid": "xid",
		"Previous_gtids": "previous_gtids", "Update_rows_compressed_v1": "update_rows",
	} {
		if got := normalizeType(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestParseGTIDList(t *testing.T) {
	list, err := parseGTIDList("[0-1-5,1-2-30]")
	if err != nil || len(list) != 2 || list[1] != (gtid.MariaDBGTID{Domain: 1, Server: 2, Seq: 30}) {
		t.Errorf("%v %v", list, err)
	}
	if list, err := parseGTIDList("[]"); err != nil || len(list) != 0 {
		t.Errorf("empty: %v %v", list, err)
	}
	if _, err := parseGTIDList("[0-1]"); err == nil {
		t.Error("[0-1]: no error")
	}
}

// A MySQL transaction opens with a BEGIN query; a DDL statement is alone;
// MariaDB marks groups in the GTID event itself.
func TestTxnTracker(t *testing.T) {
	g := mustGTID(t, uuid+":5", gtid.MySQL)
	for _, c := range []struct {
		name   string
		events []Event
		ends   int // index of the event that ends the transaction
	}{
		{"mysql dml", []Event{{Type: "gtid", GTID: g}, {Type: "query", Query: "BEGIN"}, {Type: "table_map"},
			{Type: "write_rows"}, {Type: "xid"}, {Type: "gtid", GTID: g}}, 4},
		{"mysql ddl", []Event{{Type: "gtid", GTID: g}, {Type: "query", Query: "CREATE TABLE t (a INT)"}, {Type: "gtid"}}, 1},
		{"myisam", []Event{{Type: "gtid", GTID: g}, {Type: "query", Query: "BEGIN"}, {Type: "write_rows"},
			{Type: "query", Query: "COMMIT"}}, 3},
		{"mariadb group", []Event{{Type: "gtid", GTID: g, begin: true}, {Type: "annotate_rows"},
			{Type: "table_map"}, {Type: "write_rows"}, {Type: "xid"}}, 4},
	} {
		var tr txnTracker
		got := -1
		for i := range c.events {
			if tr.observe(&c.events[i]) && got < 0 {
				got = i
			}
		}
		if got != c.ends {
			t.Errorf("%s: ends at %d, want %d", c.name, got, c.ends)
		}
		if !c.events[1].GTID.Equal(g) {
			t.Errorf("%s: the GTID was not carried onto the next event", c.name)
		}
	}
}

func TestErrantTargets(t *testing.T) {
	set := func(text string) gtid.Set {
		s, err := gtid.ParseAny(text)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	names := func(ts []Target) string {
		var out []string
		for _, t := range ts {
			out = append(out, t.String())
		}
		return strings.Join(out, " ")
	}
	ts, trunc, err := ErrantTargets(set(uuid+":1-10:blue:1-3"), set(uuid+":1-8"), 0)
	want := uuid + ":blue:3 " + uuid + ":blue:2 " + uuid + ":blue:1 " + uuid + ":10 " + uuid + ":9"
	if err != nil || trunc || names(ts) != want {
		t.Errorf("mysql: %s %v %v\nwant %s", names(ts), trunc, err, want)
	}
	ts, trunc, err = ErrantTargets(set(uuid+":1-1000000000"), set(""+uuid+":1"), 3)
	if err != nil || !trunc || names(ts) != uuid+":1000000000 "+uuid+":999999999 "+uuid+":999999998" {
		t.Errorf("mysql capped: %s %v %v", names(ts), trunc, err)
	}
	ts, trunc, err = ErrantTargets(set("0-2-12,1-1-5"), set("0-1-9"), 4)
	if err != nil || !trunc || names(ts) != "0-2-12 0-*-11 0-*-10 1-1-5" {
		t.Errorf("mariadb: %s %v %v", names(ts), trunc, err)
	}
	if ts, trunc, err := ErrantTargets(set("0-1-9"), set("0-2-12"), 0); err != nil || trunc || len(ts) != 0 {
		t.Errorf("behind is not errant: %s %v %v", names(ts), trunc, err)
	}
	if _, _, err := ErrantTargets(set("0-1-9"), set(uuid+":1"), 0); err == nil {
		t.Error("mixed flavors: no error")
	}
	any := Target{GTID: set("0-7-11"), AnyServer: true}
	if !any.matches(set("0-2-11")) || any.matches(set("0-2-12")) || (Target{GTID: set("0-7-11")}).matches(set("0-2-11")) {
		t.Error("AnyServer matching")
	}
}

func TestRedactPasswords(t *testing.T) {
	for in, want := range map[string]string{
		"CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'OUSK-9'":   "CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY '<redacted>'",
		"ALTER USER 'a'@'%' identified by 'it''s \\' secret', 'b'@'h'":  "ALTER USER 'a'@'%' identified by '<redacted>', 'b'@'h'",
		"CREATE USER u IDENTIFIED WITH caching_sha2_password BY \"pw\"": "CREATE USER u IDENTIFIED WITH caching_sha2_password BY '<redacted>'",
		"CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('pw')":     "CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('<redacted>')",
		"SET PASSWORD FOR 'u'@'%' = PASSWORD('pw')":                     "SET PASSWORD FOR 'u'@'%' = PASSWORD('<redacted>')",
		"SET PASSWORD FOR u = 'pw'":                                     "SET PASSWORD FOR u = '<redacted>'",
		"CREATE USER u IDENTIFIED BY PASSWORD '*A4B6157319038724E35'":   "CREATE USER u IDENTIFIED BY PASSWORD '*A4B6157319038724E35'",
		"INSERT INTO t VALUES ('identified by')":                        "INSERT INTO t VALUES ('identified by')",
	} {
		if got := redactPasswords(in); got != want {
			t.Errorf("%s\n got %s\nwant %s", in, got, want)
		}
	}
}
