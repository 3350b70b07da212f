package topology

import (
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func TestThreadProblems(t *testing.T) {
	db1, db2, db3, _ := healthy(t)
	db2.Replica.SQLRunning, db2.Replica.SQLThread = false, "No"
	db2.Replica.LastSQLErrno, db2.Replica.LastSQLError = 1950, "An attempt was made to binlog GTID 0-1-4 ..."
	db2.Replica.SecondsBehind, db2.Lag = nil, nil
	db3.Replica.IORunning, db3.Replica.IOThread = false, "No"
	top := New([]*Node{db1, db2, db3}, Options{})
	wantProblems(t, top, "error sql_thread_stopped db2", "error io_thread_stopped db3")
	msg := problemOf(t, top, KindSQLThread).Message
	if !strings.Contains(msg, "error 1950: An attempt") {
		t.Errorf("message %q", msg)
	}
	if msg := problemOf(t, top, KindIOThread).Message; !strings.Contains(msg, "receiver from db1") ||
		!strings.Contains(msg, "start it with db:start_replica()") {
		t.Errorf("message %q", msg)
	}
	if !strings.Contains(top.String(), "db2 127.0.0.1:23307 [replica, read-only, lag ?] io Yes sql No\n") {
		t.Errorf("drawing:\n%s", top)
	}
	// A replica whose SQL thread failed is no candidate, nor one whose
	// receiver is stopped while the primary answers (it is not following).
	c := top.Candidates(CandidateOptions{})
	if c[0].Node != db2 || !c[0].Excluded || c[1].Node != db3 || !c[1].Excluded ||
		!strings.Contains(c[1].Reasons[0], "replication is not running (io No, sql Yes)") {
		t.Errorf("candidates %+v", c)
	}
}

func TestWritableProblems(t *testing.T) {
	db1, db2, db3, _ := healthy(t)
	writable(db3)
	top := New([]*Node{db1, db2, db3}, Options{})
	wantProblems(t, top, "error writable_replica db3", "error multiple_writable -")
	if msg := problemOf(t, top, KindMultipleWritable).Message; !strings.HasPrefix(msg, "db1 and db3 all have read_only OFF") {
		t.Errorf("message %q", msg)
	}
}

func TestSuperReadOnly(t *testing.T) {
	u := func(i string) string { return i + "e11fa47-71ca-11e1-9e33-c80aa9429562" }
	db1 := mysqlGTIDs(t, writable(mysql("db1", 1, 1, u("1"))), "")
	db2 := mysqlGTIDs(t, replicaOf(mysql("db2", 2, 2, u("2")), db1), "")
	db3 := mysqlGTIDs(t, superReadOnly(replicaOf(mysql("db3", 3, 3, u("2")), db1)), "")
	top := New([]*Node{db1, db2, db3}, Options{})
	wantProblems(t, top, "error server_uuid_clash db2", "warning super_read_only_off db2")
}

func TestClashAndPromotability(t *testing.T) {
	db1, db2, db3, _ := healthy(t)
	db3.ServerID = 2
	db2.LogReplicaUpdates = false
	top := New([]*Node{db1, db2, db3}, Options{})
	wantProblems(t, top, "error server_id_clash db2", "warning not_promotable db2")
	if msg := problemOf(t, top, KindServerIDClash).Message; !strings.HasPrefix(msg, "db2 and db3 share server_id 2") {
		t.Errorf("message %q", msg)
	}
	db3.ServerID, db2.LogReplicaUpdates, db2.LogBin = 3, true, false
	top = New([]*Node{db1, db2, db3}, Options{})
	if msg := problemOf(t, top, KindNotPromotable).Message; !strings.HasPrefix(msg, "log_bin is OFF") {
		t.Errorf("message %q", msg)
	}
}

func TestLag(t *testing.T) {
	db1, db2, db3, _ := healthy(t)
	lag := int64(90)
	db2.Lag, db3.Lag = &lag, &lag
	db3.Replica.SQLDelay = 60 // delayed on purpose: 30 s over its delay
	top := New([]*Node{db1, db2, db3}, Options{LagThreshold: time.Minute})
	wantProblems(t, top, "warning lag db2", "warning delayed db3")
	if !strings.Contains(top.String(), "[replica, read-only, lag 90s, delayed 60s]") {
		t.Errorf("drawing lacks the delay:\n%s", top)
	}
	c := top.Candidates(CandidateOptions{MaxLag: time.Minute})
	if c[0].Node != db2 && !c[0].Excluded || c[1].Node != db3 || !c[1].Excluded ||
		c[0].Reasons[0] != "lag 90s is over max_lag 1m0s" {
		t.Errorf("candidates %+v", c)
	}
}

func TestPrimaryProblems(t *testing.T) {
	db1 := same(t, writable(mariadb("db1", 1, 1)), "0-1-5", "0-1-5")
	db2 := same(t, replicaOf(mariadb("db2", 2, 2), db1), "0-1-5", "0-1-5")
	db4 := same(t, writable(mariadb("db4", 4, 4)), "0-4-5", "0-4-5")
	db5 := same(t, replicaOf(mariadb("db5", 5, 5), db4), "0-4-5", "0-4-5")
	top := New([]*Node{db1, db2, db4, db5}, Options{})
	if top.Primary() != nil || db1.Role != RolePrimary || db4.Role != RolePrimary {
		t.Errorf("primary %v, roles %s %s", top.Primary(), db1.Role, db4.Role)
	}
	wantProblems(t, top, "error multiple_primaries -", "error multiple_writable -")

	// Every server read-only and a replica of another: no primary.
	db2.Replica.SourcePort = 5
	db5.Replica.SourcePort = 2
	top = New([]*Node{db2, db5}, Options{})
	wantProblems(t, top, "error no_primary -")
}

// A read-only standalone server, a replica of a server that leads
// elsewhere, and a member replicating from a server outside the
// deployment.
func TestPlacementProblems(t *testing.T) {
	db1, db2, db3, _ := healthy(t)
	db4 := same(t, mariadb("db4", 4, 4), "0-1-42", "0-1-42") // fenced old primary
	ext := same(t, mariadb("ext", 9, 9), "0-1-42", "0-1-42")
	ext.Outside, ext.Via = true, "source"
	replicaOf(db3, ext)
	top := New([]*Node{db1, db2, db3, db4, ext}, Options{})
	wantProblems(t, top,
		"error not_under_primary db3",
		"warning outside_deployment ext",
		"warning outside_deployment db3",
		"warning detached db4")
}

func TestCoPrimaries(t *testing.T) {
	db1 := same(t, writable(mariadb("db1", 1, 1)), "0-1-5", "0-1-5")
	db2 := same(t, replicaOf(mariadb("db2", 2, 2), db1), "0-1-5", "0-1-5")
	replicaOf(db1, db2)
	top := New([]*Node{db1, db2}, Options{})
	if top.Primary() != db1 {
		t.Fatalf("primary %v", top.Primary())
	}
	wantProblems(t, top, "warning replication_loop db1")
	want := "db1 127.0.0.1:1 [primary, writable, lag 0s] mariadb 10.11.19 gtid 0-1-5 io Yes sql Yes\n" +
		"└─ db2 127.0.0.1:2 [replica, read-only, lag 0s] io Yes sql Yes\n"
	if !strings.HasPrefix(top.String(), want) {
		t.Errorf("drawing:\n%s\nwant:\n%s", top, want)
	}
}

func TestUnreachableGuess(t *testing.T) {
	db1, db2, _, _ := healthy(t)
	guess := unreachable(mariadb("10.0.0.9:23306", 23306, 0))
	guess.Host, guess.Via, guess.Source = "10.0.0.9", "processlist", db1
	top := New([]*Node{db1, db2, guess}, Options{})
	wantProblems(t, top, "warning unreachable 10.0.0.9:23306")
	if msg := problemOf(t, top, KindUnreachable).Message; !strings.Contains(msg, "guessed from a binlog dump thread on db1") {
		t.Errorf("message %q", msg)
	}
	// A server error is shown without the server label it carries.
	guess.Err = &server.Error{Op: "connect", Server: "x", Code: 1045, Message: "Access denied"}
	if msg := errMessage(guess.Err); msg != "connect: Error 1045: Access denied" {
		t.Errorf("errMessage %q", msg)
	}
}

// With repl_tls in the deployment, a replica that does not verify its
// source over TLS is an error; without it, nobody is asked.
func TestReplicationTLSProblem(t *testing.T) {
	db1, db2, db3, _ := healthy(t)
	db2.Replica.SSLAllowed, db2.Replica.SSLCA, db2.Replica.SSLVerifyServerCert = "Yes", "/etc/mysql/ca.pem", true
	db3.Replica.SSLAllowed = "No"
	wantProblems(t, New([]*Node{db1, db2, db3}, Options{}))
	top := New([]*Node{db1, db2, db3}, Options{ReplicationTLS: true})
	wantProblems(t, top, "error replication_not_tls db3")
	if msg := problemOf(t, top, KindClearText).Message; !strings.Contains(msg, "Master_SSL_Allowed No") ||
		!strings.Contains(msg, "repl_tls") {
		t.Errorf("message %q", msg)
	}
}
