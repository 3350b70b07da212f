package topology

import (
	"strings"
	"testing"
)

// Each case is a primary db1 (server_id 1) and a replica db2 (server_id
// 2) with their MariaDB GTID state; errant is what db2 should be blamed
// for ("" for nothing), why a fragment of the reason.
func TestMariaDBErrant(t *testing.T) {
	type state struct{ binlog, slave, current, binlogState string }
	cases := []struct {
		name             string
		primary, replica state
		primaryNoLogUpd  bool
		errant, why      string
	}{
		{name: "in step",
			primary: state{"0-1-42", "", "0-1-42", "0-1-42"},
			replica: state{"0-1-42", "0-1-42", "0-1-42", "0-1-42"}},
		{name: "replica behind",
			primary: state{"0-1-42", "", "0-1-42", "0-1-42"},
			replica: state{"0-1-40", "0-1-40", "0-1-40", "0-1-40"}},
		// An INSERT on db2 (its own server_id, the next seq_no): db2 stands
		// past the primary. Measured on 10.11: 0-1-3 on db1, 0-2-4 on db2.
		{name: "write on the replica",
			primary: state{"0-1-3", "", "0-1-3", "0-1-3"},
			replica: state{"0-2-4", "0-1-3", "0-2-4", "0-1-3,0-2-4"},
			errant:  "0-2-4", why: "0-2-4: past db1, which is at 0-1-3 in domain 0"},
		// Without strict mode replication went on past the write: only the
		// binlog state remembers it.
		{name: "write on the replica, then replication went on",
			primary: state{"0-1-10", "", "0-1-10", "0-1-10"},
			replica: state{"0-1-10", "0-1-10", "0-1-10", "0-1-10,0-2-4"},
			errant:  "0-2-4", why: "written on db2 itself, and db1's binary log has nothing from server_id 2 in domain 0"},
		// db2 was the primary up to 0-2-5; db1 got only up to 0-2-3 of it
		// before it was promoted, then went on.
		{name: "history db1 never got",
			primary: state{"0-1-20", "0-2-3", "0-1-20", "0-2-3,0-1-20"},
			replica: state{"0-1-20", "0-1-20", "0-1-20", "0-2-5,0-1-20"},
			errant:  "0-2-5", why: "db1's binary log has server_id 2's transactions in domain 0 only up to seq 3"},
		// Shared history: server_id 5 was the primary before both.
		{name: "old primary's history",
			primary: state{"0-1-20", "0-5-10", "0-1-20", "0-5-10,0-1-20"},
			replica: state{"0-1-20", "0-1-20", "0-1-20", "0-5-10,0-1-20"}},
		// db2 was the primary once and db1 its replica with
		// log_slave_updates: db1's binlog has db2's writes.
		{name: "replica was the primary once",
			primary: state{"0-1-20", "0-2-9", "0-1-20", "0-2-9,0-1-20"},
			replica: state{"0-1-20", "0-1-20", "0-1-20", "0-2-9,0-1-20"}},
		// The primary's binlog lacks the GTID but it applied it as a
		// replica (restored from a backup, or no log_slave_updates).
		{name: "applied by the primary as a replica",
			primary: state{"0-1-20", "0-5-10", "0-1-20", "0-1-20"},
			replica: state{"0-5-10", "0-5-10", "0-5-10", "0-5-10"}, primaryNoLogUpd: true},
		// Without log_slave_updates the primary's binary log cannot show
		// what it applied from server_id 7 after 0-5-10: not reported.
		{name: "unverifiable without log_slave_updates",
			primary: state{"0-1-20", "0-7-11", "0-1-20", "0-1-20"},
			replica: state{"0-5-10", "0-5-10", "0-5-10", "0-5-10"}, primaryNoLogUpd: true},
		// A replica stuck on a transaction of server_id 3 that the
		// primary, which logs everything, never had: diverged.
		{name: "diverged branch",
			primary: state{"0-1-12", "", "0-1-12", "0-1-12"},
			replica: state{"0-3-8", "0-3-8", "0-3-8", "0-3-8"},
			errant:  "0-3-8", why: "db1 is at 0-1-12 and never had it: the histories diverged"},
		// The replica has the primary's own server_id further than the
		// primary: the primary lost binlog events (read last, so no race).
		{name: "primary lost events",
			primary: state{"0-1-20", "", "0-1-20", "0-1-20"},
			replica: state{"0-1-21", "0-1-21", "0-1-21", "0-1-21"},
			errant:  "0-1-21", why: "past db1"},
		{name: "domain the primary never saw",
			primary: state{"0-1-20", "", "0-1-20", "0-1-20"},
			replica: state{"0-1-20,7-2-1", "0-1-20", "0-1-20,7-2-1", "0-1-20,7-2-1"},
			errant:  "7-2-1", why: "domain 7, which db1 has never seen"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writable(mariadb("db1", 1, 1))
			p.LogReplicaUpdates = !c.primaryNoLogUpd
			mariaGTIDs(t, p, c.primary.binlog, c.primary.slave, c.primary.current, c.primary.binlogState)
			r := replicaOf(mariadb("db2", 2, 2), p)
			mariaGTIDs(t, r, c.replica.binlog, c.replica.slave, c.replica.current, c.replica.binlogState)
			top := New([]*Node{p, r}, Options{})
			if r.Errant != c.errant {
				t.Fatalf("errant %q, want %q\n%s", r.Errant, c.errant, top)
			}
			if c.errant == "" {
				wantProblems(t, top)
				return
			}
			pr := problemOf(t, top, KindErrant)
			if pr.Node != r || pr.Severity != SeverityError || !strings.Contains(pr.Message, c.why) {
				t.Errorf("problem %s: want the reason %q", pr, c.why)
			}
		})
	}
}

func TestMySQLErrant(t *testing.T) {
	const u1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	const u2 = "4e11fa47-71ca-11e1-9e33-c80aa9429562"
	p := mysqlGTIDs(t, writable(mysql("db1", 1, 1, u1)), u1+":1-100")
	r1 := mysqlGTIDs(t, superReadOnly(replicaOf(mysql("db2", 2, 2, u2), p)), u1+":1-90")
	r2 := mysqlGTIDs(t, superReadOnly(replicaOf(mysql("db3", 3, 3, "5e11fa47-71ca-11e1-9e33-c80aa9429562"), p)),
		u1+":1-100,"+u2+":1-2")
	top := New([]*Node{p, r1, r2}, Options{})
	wantProblems(t, top, "error errant_transactions db3")
	if r1.Errant != "" || r2.Errant != u2+":1-2" {
		t.Errorf("errant %q %q", r1.Errant, r2.Errant)
	}
	for _, c := range top.Candidates(CandidateOptions{}) {
		if c.Node == r2 && (!c.Excluded || !strings.Contains(c.Reasons[0], "errant transactions "+u2+":1-2")) {
			t.Errorf("db3 candidate %+v", c)
		}
	}
}
