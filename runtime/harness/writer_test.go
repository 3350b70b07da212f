package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// writerOptions writes to app.t as the sandbox's application user, which
// read_only stops.
func writerOptions(t *testing.T, sb *sandbox.Sandbox) WriterOptions {
	t.Helper()
	pw, err := sb.AppUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	o := WriterOptions{Table: "app.t", User: sb.AppUser.Name, Password: pw}
	for _, in := range sb.Instances {
		o.Servers = append(o.Servers, in.Addr())
	}
	return o
}

func startWriter(t *testing.T, o WriterOptions) *Writer {
	t.Helper()
	w, err := StartWriter(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(context.Background()) })
	return w
}

// admin is the tool's account on one server: it bypasses read_only and
// may SET sql_log_bin.
func admin(t *testing.T, sb *sandbox.Sandbox, name string) *sql.DB {
	t.Helper()
	in, ok := sb.Instance(name)
	if !ok {
		t.Fatalf("no %s in the sandbox", name)
	}
	dsn, err := in.DSN(sb.User)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // SET SESSION sql_log_bin stays with the statements after it
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// waitFor polls cond for up to 20 s: a bound on waiting, not a timing
// assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("gave up waiting for %s", what)
}

func waitAcked(t *testing.T, w *Writer, n int) {
	t.Helper()
	want := w.Acked() + n
	waitFor(t, fmt.Sprintf("%d acknowledged writes (now %d, %d failed)", want, w.Acked(), w.Failed()),
		func() bool { return w.Acked() >= want })
}

// promote makes the writes move from one server to another by hand: the
// old one read-only (the writer's next insert fails with 1290), the new
// one caught up, then writable. It returns when the writer has seen the
// failure and when the new server became writable: no write can be
// acknowledged in between.
func promote(t *testing.T, sb *sandbox.Sandbox, w *Writer, from, to string, between func()) (failedAt, writableAt time.Time) {
	t.Helper()
	old, nw := admin(t, sb, from), admin(t, sb, to)
	failed := w.Failed()
	mustExec(t, old, "SET GLOBAL read_only = 1")
	waitFor(t, "the writer to fail on read-only "+from, func() bool { return w.Failed() > failed })
	failedAt = time.Now()
	var pos string
	if err := old.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	var reached int
	if err := nw.QueryRow("SELECT MASTER_GTID_WAIT(?, 10)", pos).Scan(&reached); err != nil || reached != 0 {
		t.Fatalf("%s did not reach %s's %s: %d, %v", to, from, pos, reached, err)
	}
	if between != nil {
		between()
	}
	mustExec(t, nw, "SET GLOBAL read_only = 0")
	return failedAt, time.Now()
}

// The writer against a healthy primary: every acknowledged row is there
// once, on the primary, and nothing failed.
func TestWriterLosesNothing(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	w := startWriter(t, writerOptions(t, sb))
	waitAcked(t, w, 300)
	r, err := w.Stop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d acknowledged, max gap %s", r.Acked, r.MaxGap)
	if r.Acked < 301 || r.Failed != 0 || len(r.Lost) != 0 || len(r.Duplicated) != 0 {
		t.Errorf("report %+v; want >= 301 acknowledged, nothing failed, lost or duplicated", r)
	}
	if r.Server != sb.Primary().Addr() || r.ServerID != 1 {
		t.Errorf("the final check read %s (server_id %d); want the primary %s", r.Server, r.ServerID, sb.Primary().Addr())
	}
	var n int
	if err := admin(t, sb, "db1").QueryRow("SELECT COUNT(*) FROM app.t").Scan(&n); err != nil || n != r.Acked {
		t.Errorf("app.t holds %d rows (%v); the writer acknowledged %d", n, err, r.Acked)
	}
	if again, err := w.Stop(context.Background()); err != nil || !reflect.DeepEqual(again, r) {
		t.Errorf("a second Stop: %+v, %v; want the same report", again, err)
	}
}

// Rate bounds the writes a second; a second writer on the same table
// starts above the ids already there, so the first's rows are neither
// lost nor duplicates of its own.
func TestWriterRateAndKeptTable(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	o := writerOptions(t, sb)
	first := startWriter(t, o)
	waitAcked(t, first, 50)
	if r, err := first.Stop(context.Background()); err != nil || len(r.Lost)+len(r.Duplicated) != 0 {
		t.Fatalf("first writer: %+v, %v", r, err)
	}
	o.Rate, o.Addr, o.Servers = 50, sb.Primary().Addr(), nil
	began := time.Now()
	w := startWriter(t, o)
	waitAcked(t, w, 20)
	r, err := w.Stop(context.Background())
	took := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	// Not a timing assertion: pacing allows at most one write per 20 ms
	// from the start, whatever the machine's speed.
	if limit := int(took/(20*time.Millisecond)) + 1; r.Acked > limit {
		t.Errorf("rate 50: %d writes in %s, more than %d", r.Acked, took, limit)
	}
	if r.Acked < 21 || len(r.Lost) != 0 || len(r.Duplicated) != 0 {
		t.Errorf("report %+v", r)
	}
}

// Hostile: rows deleted behind the writer's back on the primary, out of
// the binary log so that the replica keeps them, are reported exactly as
// lost: the check reads the writable server, not a replica.
func TestWriterReportsDeletedRowsAsLost(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	w := startWriter(t, writerOptions(t, sb))
	waitAcked(t, w, 100)
	db1 := admin(t, sb, "db1")
	mustExec(t, db1, "SET SESSION sql_log_bin = 0")
	mustExec(t, db1, "DELETE FROM app.t WHERE id IN (3, 17, 42)")
	mustExec(t, db1, "SET SESSION sql_log_bin = 1")
	waitAcked(t, w, 20)
	r, err := w.Stop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{3, 17, 42}; !reflect.DeepEqual(r.Lost, want) || len(r.Duplicated) != 0 {
		t.Errorf("lost %v, duplicated %v; want lost %v and nothing duplicated", r.Lost, r.Duplicated, want)
	}
}

// Hostile: rows inserted behind the writer's back with ids it wrote are
// reported as duplicated, each id once however many copies.
func TestWriterReportsDuplicates(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	w := startWriter(t, writerOptions(t, sb))
	waitAcked(t, w, 100)
	mustExec(t, admin(t, sb, "db1"), "INSERT INTO app.t (id) VALUES (7), (7), (50)")
	r, err := w.Stop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{7, 50}; !reflect.DeepEqual(r.Duplicated, want) || len(r.Lost) != 0 {
		t.Errorf("duplicated %v, lost %v; want duplicated %v and nothing lost", r.Duplicated, r.Lost, want)
	}
}

// Hostile: inserts that commit after their client gave up. The table is
// locked, each insert times out on the client and stays queued on the
// server; unlocked, they all commit. A writer retrying the same id then
// finds that id several times, one moving on does not.
func TestWriterRetrySameIDDuplicates(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	for _, retry := range []bool{true, false} {
		t.Run(fmt.Sprintf("retry same id %t", retry), func(t *testing.T) {
			o := writerOptions(t, sb)
			o.Table, o.RetrySameID, o.Timeout = fmt.Sprintf("app.retry_%t", retry), retry, 200*time.Millisecond
			w := startWriter(t, o)
			waitAcked(t, w, 20)
			db1 := admin(t, sb, "db1")
			mustExec(t, db1, "LOCK TABLES "+o.Table+" WRITE")
			failed := w.Failed()
			waitFor(t, "inserts to time out", func() bool { return w.Failed() >= failed+3 })
			mustExec(t, db1, "UNLOCK TABLES")
			waitAcked(t, w, 20)
			r, err := w.Stop(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d acknowledged, %d failed, duplicated %v", r.Acked, r.Failed, r.Duplicated)
			if len(r.Lost) != 0 || retry != (len(r.Duplicated) > 0) {
				t.Errorf("report %+v; want nothing lost, duplicates only when retrying the same id", r)
			}
		})
	}
}

// With Addr "" the writer follows the writable server: db1 made
// read-only, db2 (caught up) writable, and the writes move to db2. The
// largest gap covers at least the time nothing was writable, and a clean
// 1290 retried with the same id duplicates nothing.
func TestWriterFollowsTheWritableServer(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	o := writerOptions(t, sb)
	o.RetrySameID = true
	w := startWriter(t, o)
	waitAcked(t, w, 100)
	before := time.Now()
	if _, ok := w.FirstAckAfterFailure(before); ok {
		t.Fatal("a write acknowledged after a failure that has not happened")
	}
	failedAt, writableAt := promote(t, sb, w, "db1", "db2", nil)
	waitAcked(t, w, 100)
	// The first write after the failure went to db2, writable only after
	// the failure was seen.
	if at, ok := w.FirstAckAfterFailure(before); !ok || !at.After(failedAt) {
		t.Errorf("first acknowledged write after the failure: %s, %t; want after %s", at, ok, failedAt)
	}
	r, err := w.Stop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d acknowledged, %d failed, max gap %s (none writable for %s)", r.Acked, r.Failed, r.MaxGap, writableAt.Sub(failedAt))
	if r.Server != sb.Instances[1].Addr() || r.ServerID != 2 {
		t.Errorf("the final check read %s (server_id %d); want db2 %s", r.Server, r.ServerID, sb.Instances[1].Addr())
	}
	if len(r.Lost) != 0 || len(r.Duplicated) != 0 || r.Failed == 0 {
		t.Errorf("report %+v; want failures, nothing lost or duplicated", r)
	}
	if r.MaxGap < writableAt.Sub(failedAt) {
		t.Errorf("max gap %s; nothing was writable for at least %s", r.MaxGap, writableAt.Sub(failedAt))
	}
}

// Hostile: a SIGSTOPped server among Servers answers nothing, and its
// connections hang until the timeout. The writer still finds the
// writable server again after a failure, and Stop still reads it.
func TestWriterWithAStoppedServer(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	w := startWriter(t, writerOptions(t, sb))
	waitAcked(t, w, 20)
	pid := sb.Instances[1].Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	db1 := admin(t, sb, "db1")
	failed := w.Failed()
	mustExec(t, db1, "SET GLOBAL read_only = 1")
	waitFor(t, "the writer to fail on read-only db1", func() bool { return w.Failed() > failed })
	mustExec(t, db1, "SET GLOBAL read_only = 0")
	waitAcked(t, w, 20)
	r, err := w.Stop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d acknowledged, %d failed, max gap %s", r.Acked, r.Failed, r.MaxGap)
	if r.Server != sb.Instances[0].Addr() || len(r.Lost) != 0 || len(r.Duplicated) != 0 {
		t.Errorf("report %+v; want db1, nothing lost or duplicated", r)
	}
}

// Writes through HAProxy's frontend move when the proxy routes to
// another server: db1 in maintenance, db2 ready (through the admin
// socket), and the final check reads db2 through the same address.
func TestWriterThroughHAProxy(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	h := startHAProxy(t, sb, "db1")
	o := writerOptions(t, sb)
	o.Addr, o.Servers = h.Addr(), nil
	w := startWriter(t, o)
	waitAcked(t, w, 100)
	promote(t, sb, w, "db1", "db2", func() {
		for _, c := range []string{"set server writer/db1 state maint", "set server writer/db2 state ready"} {
			if out, err := h.Command(context.Background(), c); err != nil || strings.TrimSpace(out) != "" {
				t.Fatalf("%s: %q, %v", c, out, err)
			}
		}
	})
	waitAcked(t, w, 100)
	r, err := w.Stop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d acknowledged, %d failed, max gap %s", r.Acked, r.Failed, r.MaxGap)
	if r.Server != h.Addr() || r.ServerID != 2 {
		t.Errorf("the final check read %s (server_id %d); want db2 through %s", r.Server, r.ServerID, h.Addr())
	}
	if len(r.Lost) != 0 || len(r.Duplicated) != 0 || r.Failed == 0 {
		t.Errorf("report %+v; want failures, nothing lost or duplicated", r)
	}
	var onDB2 int
	if err := admin(t, sb, "db2").QueryRow("SELECT COUNT(*) FROM app.t").Scan(&onDB2); err != nil || onDB2 != r.Acked {
		t.Errorf("db2 holds %d rows (%v); the writer acknowledged %d", onDB2, err, r.Acked)
	}
}

// With no writable server at Stop (the primary made read-only), Stop
// waits, then says so, naming each server's answer, and still returns
// the counts.
func TestWriterStopWithoutWritableServer(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	w := startWriter(t, writerOptions(t, sb))
	waitAcked(t, w, 50)
	mustExec(t, admin(t, sb, "db1"), "SET GLOBAL read_only = 1")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r, err := w.Stop(ctx)
	if err == nil || !strings.Contains(err.Error(), "no writable server") ||
		!strings.Contains(err.Error(), sb.Instances[0].Addr()+": read_only=1") {
		t.Fatalf("Stop: %v; want no writable server, naming db1's read_only=1", err)
	}
	t.Logf("Stop: %v", err)
	if r.Acked < 51 || r.Server != "" {
		t.Errorf("report %+v; want the counts and no server", r)
	}
}

// Hostile: two writable servers at Stop (a split brain). The writer does
// not pick whose rows count: Stop says so, naming both.
func TestWriterStopWithTwoWritableServers(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	w := startWriter(t, writerOptions(t, sb))
	waitAcked(t, w, 50)
	mustExec(t, admin(t, sb, "db2"), "SET GLOBAL read_only = 0")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := w.Stop(ctx)
	if want := "more than one writable server: " + sb.Instances[0].Addr() + ", " + sb.Instances[1].Addr(); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Stop: %v; want %q", err, want)
	}
}

// The first write must succeed: against a read-only replica, or with a
// wrong password, StartWriter fails, and the password is in no error.
func TestStartWriterRefuses(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	o := writerOptions(t, sb)
	o.Addr, o.Servers = sb.Instances[1].Addr(), nil
	if _, err := StartWriter(context.Background(), o); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("against a read-only replica: %v", err)
	}
	o.Password = "s3cret-wrong-password"
	_, err := StartWriter(context.Background(), o)
	var me *gosql.MySQLError
	if !errors.As(err, &me) || me.Number != 1045 {
		t.Errorf("with a wrong password: %v; want error 1045", err)
	}
	if err != nil && strings.Contains(err.Error(), o.Password) || strings.Contains(fmt.Sprintf("%v %+v %#v", o, o, o), o.Password) {
		t.Errorf("the password leaked: %v / %s", err, o)
	}
	for _, bad := range []WriterOptions{{Table: "t", Addr: o.Addr}, {Table: "a.b.c", Addr: o.Addr}, {Table: "a.t"}} {
		if _, err := StartWriter(context.Background(), bad); err == nil {
			t.Errorf("%s: started", bad)
		}
	}
}
