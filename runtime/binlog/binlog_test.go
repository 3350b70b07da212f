package binlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func TestMain(m *testing.M) { sandboxtest.Main(m) }

// connect opens the tool's account on one sandbox server.
func connect(t *testing.T, sb *sandbox.Sandbox, in sandbox.Instance) *server.Server {
	t.Helper()
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	sv, err := server.New(server.Config{Name: in.Name, Host: "127.0.0.1", Port: in.Port,
		User: sb.User.Name, Password: server.Secret(pw)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Close() })
	return sv
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func exec(t *testing.T, ctx context.Context, sv *server.Server, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := sv.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// setup is the history the tests read: after the sandbox's own
// transactions (it creates its users through the binary log), the three
// statements are GTIDs g(1), g(2) and g(3), and FLUSH BINARY LOGS puts
// g(4) in a second file.
var setup = []string{
	"CREATE DATABASE d1",
	"CREATE TABLE d1.t (id INT PRIMARY KEY, v VARCHAR(10))",
	"INSERT INTO d1.t VALUES (1,'a'),(2,'b'),(3,'c')",
	"FLUSH BINARY LOGS",
	"UPDATE d1.t SET v = 'x' WHERE id = 2",
}

// primary starts a sandbox, runs setup on its primary, and returns g:
// g(n) is the GTID of the setup's n-th transaction, "0-1-N".
func primary(t *testing.T, servers int) (*sandbox.Sandbox, *server.Server, context.Context, func(n int) string) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: servers})
	ctx := testContext(t)
	sv := connect(t, sb, sb.Primary())
	before, err := sv.Variable(ctx, "gtid_binlog_pos")
	if err != nil {
		t.Fatal(err)
	}
	base := uint64(0)
	if text, _ := before.(string); text != "" {
		g, err := gtid.ParseMariaDBGTID(text)
		if err != nil {
			t.Fatal(err)
		}
		base = g.Seq
	}
	exec(t, ctx, sv, setup...)
	return sb, sv, ctx, func(n int) string { return fmt.Sprintf("0-1-%d", base+uint64(n)) }
}

func readAll(t *testing.T, ctx context.Context, sv *server.Server, o Options) []Event {
	t.Helper()
	r, err := Open(ctx, sv, o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []Event
	for {
		ev, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
}

func mariadbGTID(t *testing.T, text string) gtid.Set {
	g, err := gtid.ParseGTID(text, gtid.MariaDB)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Both readers see the same events, at chained positions, with the same
// GTIDs and statements; only the stream reader knows timestamps and rows.
func TestReadersAgree(t *testing.T) {
	_, sv, ctx, g := primary(t, 1)
	// Both read up to the same end: MariaDB writes a Binlog_checkpoint
	// event into the new file some time after FLUSH BINARY LOGS, and a
	// reader that ran later saw one event more (seen under load).
	logs, err := ListLogs(ctx, sv)
	if err != nil {
		t.Fatal(err)
	}
	last := logs[len(logs)-1]
	end := gtid.Position{File: last.Name, Pos: last.Size}
	show := readAll(t, ctx, sv, Options{Reader: ReaderShow, PageSize: 3, To: end}) // small pages: paging is exercised
	stream := readAll(t, ctx, sv, Options{Reader: ReaderStream, To: end})
	if len(show) != len(stream) || len(show) < 20 {
		t.Fatalf("show read %d events, stream %d", len(show), len(stream))
	}
	for i := range show {
		a, b := show[i], stream[i]
		if a.Type != b.Type || a.Position() != b.Position() || a.EndPos != b.EndPos || !a.GTID.Equal(b.GTID) ||
			a.Query != b.Query || a.Table != b.Table || a.Xid != b.Xid || a.NextFile != b.NextFile || a.ServerID != b.ServerID {
			t.Errorf("event %d differs:\nshow   %+v\nstream %+v", i, a, b)
		}
		if i > 0 {
			prev := show[i-1]
			want := gtid.Position{File: prev.File, Pos: prev.EndPos}
			if prev.Type == "rotate" {
				want = gtid.Position{File: prev.NextFile, Pos: 4}
			}
			if a.Position() != want {
				t.Errorf("event %d at %s, want %s (after %+v)", i, a.Position(), want, prev)
			}
		}
		if b.Time.IsZero() || !a.Time.IsZero() {
			t.Errorf("event %d: stream time %v, show time %v", i, b.Time, a.Time)
		}
	}
	checkHistory(t, show, g, RowsUnknown)
	checkHistory(t, stream, g, 3)
}

// checkHistory finds the setup's transactions in events.
func checkHistory(t *testing.T, events []Event, g func(int) string, insertRows int) {
	t.Helper()
	byGTID := map[string][]Event{}
	for _, ev := range events {
		if !ev.GTID.IsEmpty() {
			byGTID[ev.GTID.String()] = append(byGTID[ev.GTID.String()], ev)
		}
	}
	want := map[string][]string{
		g(1): {"gtid", "query"},
		g(2): {"gtid", "query"},
		g(3): {"gtid", "annotate_rows", "table_map", "write_rows", "xid"},
		g(4): {"gtid", "annotate_rows", "table_map", "update_rows", "xid"},
	}
	for id, types := range want {
		var got []string
		for _, ev := range byGTID[id] {
			got = append(got, ev.Type)
		}
		if strings.Join(got, " ") != strings.Join(types, " ") {
			t.Fatalf("transaction %s: events %v, want %v", id, got, types)
		}
	}
	if q := byGTID[g(1)][1].Query; q != "CREATE DATABASE d1" {
		t.Errorf("%s query %q", g(1), q)
	}
	if q := byGTID[g(2)][1].Query; !strings.HasPrefix(q, "CREATE TABLE d1.t") {
		t.Errorf("%s query %q", g(2), q)
	}
	ins := byGTID[g(3)]
	if ins[1].Query != setup[2] || ins[2].Table != "d1.t" || ins[3].Table != "d1.t" || ins[3].Rows != insertRows || ins[4].Xid == 0 {
		t.Errorf("%s: %+v", g(3), ins)
	}
	if f3, f4 := byGTID[g(3)][0].File, byGTID[g(4)][0].File; f3 == f4 {
		t.Errorf("%s and %s both in %s, want a rotation between", g(3), g(4), f3)
	}
	// The sandbox's own CREATE USER came with a password: never shown.
	for _, ev := range events {
		if strings.Contains(ev.Query, "IDENTIFIED BY") && !strings.Contains(ev.Query, "IDENTIFIED BY '<redacted>'") {
			t.Errorf("password not redacted: %s", ev.Query)
		}
	}
}

// A GTID start and a GTID end cut out exactly those transactions, with
// both readers; position bounds and limits cut as mysqlbinlog does.
func TestBounds(t *testing.T) {
	_, sv, ctx, g := primary(t, 1)
	for _, k := range []Kind{ReaderShow, ReaderStream} {
		evs := readAll(t, ctx, sv, Options{Reader: k, FromGTID: mariadbGTID(t, g(2)), ToGTID: mariadbGTID(t, g(3))})
		var types []string
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
		if got := strings.Join(types, " "); got != "gtid query gtid annotate_rows table_map write_rows xid" {
			t.Errorf("%s: from %s to %s: %s", k, g(2), g(3), got)
		}
		if len(evs) == 0 {
			continue
		}
		to := evs[3].Position() // the annotate_rows of g(3)
		evs = readAll(t, ctx, sv, Options{Reader: k, From: evs[0].Position(), To: to})
		if len(evs) != 3 || evs[2].Type != "gtid" {
			t.Errorf("%s: to %s: %+v", k, to, evs)
		}
		evs = readAll(t, ctx, sv, Options{Reader: k, Limit: 2})
		if len(evs) != 2 || evs[0].Type != "format_description" {
			t.Errorf("%s: limit 2: %+v", k, evs)
		}
	}
}

// The stream reader can start where a replica at a GTID position would.
func TestStreamAfterGTIDPosition(t *testing.T) {
	_, sv, ctx, g := primary(t, 1)
	evs := readAll(t, ctx, sv, Options{Reader: ReaderStream, After: mariadbGTID(t, g(2))})
	var first string
	for _, ev := range evs {
		if ev.Type == "gtid" {
			first = ev.GTID.String()
			break
		}
	}
	if first != g(3) {
		t.Errorf("first transaction after %s: %q; events %+v", g(2), first, evs)
	}
	// After the last transaction there is nothing to read: the server
	// sends heartbeats, and the reader must still come to its end.
	evs = readAll(t, ctx, sv, Options{Reader: ReaderStream, After: mariadbGTID(t, g(4))})
	for _, ev := range evs {
		if ev.Type == "gtid" {
			t.Errorf("after the last transaction: %+v", ev)
		}
	}
}

func TestLocateGTID(t *testing.T) {
	_, sv, ctx, g := primary(t, 1)
	events := readAll(t, ctx, sv, Options{})
	for _, ev := range events {
		if ev.Type != "gtid" {
			continue
		}
		loc, err := LocateGTID(ctx, sv, ev.GTID)
		if err != nil {
			t.Fatal(err)
		}
		if loc == nil || loc.Position() != ev.Position() || !loc.GTID.Equal(ev.GTID) {
			t.Errorf("locate %s: %+v, SHOW BINLOG EVENTS has it at %s", ev.GTID, loc, ev.Position())
		}
	}
	loc, err := LocateGTID(ctx, sv, mariadbGTID(t, g(3)))
	if err != nil || loc == nil {
		t.Fatal(loc, err)
	}
	if loc.Query != setup[2] || loc.Table != "d1.t" || loc.EndPos <= loc.Pos {
		t.Errorf("%s: %+v", g(3), loc)
	}
	for _, missing := range []string{g(99), "7-1-1", "0-9-3"} {
		if loc, err := LocateGTID(ctx, sv, mariadbGTID(t, missing)); err != nil || loc != nil {
			t.Errorf("locate %s: %+v, %v; want nil", missing, loc, err)
		}
	}
}

func TestErrantTransactions(t *testing.T) {
	sb, sv, ctx, g := primary(t, 2)
	replica := connect(t, sb, sb.Replicas()[0])
	// Wait for the setup to arrive, then write on the replica directly.
	exec(t, ctx, replica, "SELECT MASTER_GTID_WAIT('"+g(4)+"', 30)")
	base, err := sv.GTIDExecuted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, _, err := ErrantTransactions(ctx, replica, base, 0); err != nil || len(list) != 0 {
		t.Fatalf("before the errant writes: %+v, %v", list, err)
	}
	exec(t, ctx, replica, "CREATE DATABASE oops", "INSERT INTO d1.t VALUES (7, 'errant')")
	list, truncated, err := ErrantTransactions(ctx, replica, base, 0)
	if err != nil || truncated || len(list) != 2 {
		t.Fatalf("errant: %+v truncated %v, %v", list, truncated, err)
	}
	// Newest first: the INSERT, then the CREATE DATABASE, whose server id
	// is only known once found.
	insert, create := strings.Replace(g(6), "0-1-", "0-2-", 1), strings.Replace(g(5), "0-1-", "0-2-", 1)
	if l := list[0].Location; list[0].Target.String() != insert || l == nil || l.Table != "d1.t" ||
		!strings.HasPrefix(l.Query, "INSERT INTO d1.t") {
		t.Errorf("newest errant transaction: %s at %+v", list[0].Target, l)
	}
	if l := list[1].Location; list[1].Target.String() != strings.Replace(g(5), "0-1-", "0-*-", 1) || l == nil || l.GTID.String() != create ||
		l.Query != "CREATE DATABASE oops" {
		t.Errorf("older errant transaction: %s at %+v", list[1].Target, l)
	}
	list, truncated, err = ErrantTransactions(ctx, replica, base, 1)
	if err != nil || !truncated || len(list) != 1 {
		t.Errorf("limit 1: %+v truncated %v, %v", list, truncated, err)
	}
}

// A follower sees events as a writer makes them, and stops at its limit.
func TestFollow(t *testing.T) {
	sb, sv, ctx, _ := primary(t, 1)
	writer := connect(t, sb, sb.Primary())
	for ki, k := range []Kind{ReaderShow, ReaderStream} {
		start, err := sv.Position(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const n = 5 // one transaction each: gtid, annotate_rows, table_map, write_rows, xid
		r, err := Open(ctx, sv, Options{Reader: k, From: start, Follow: true, Limit: 5 * n, PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			for i := range n {
				if _, err := writer.Exec(ctx, "INSERT INTO d1.t (id, v) VALUES (?, ?)", 100+10*ki+i, string(k)); err != nil {
					done <- err
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			done <- nil
		}()
		rows := 0
		for {
			ev, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type == "write_rows" {
				rows++
				if k == ReaderStream && ev.Rows != 1 {
					t.Errorf("stream: %d rows in %+v", ev.Rows, ev)
				}
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if rows != n {
			t.Errorf("%s: followed %d row events, want %d", k, rows, n)
		}
		r.Close()
	}
}

// Cancelling the context stops a follower that is waiting, promptly, and
// leaves no goroutine behind.
func TestCancelFollow(t *testing.T) {
	_, sv, ctx, _ := primary(t, 1)
	for _, k := range []Kind{ReaderShow, ReaderStream} {
		start, err := sv.Position(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		r, err := Open(rctx, sv, Options{Reader: k, From: start, Follow: true})
		if err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(300*time.Millisecond, cancel)
		began := time.Now()
		for err == nil {
			// Events written since the position was read (MariaDB writes
			// a Binlog_checkpoint after a rotation, later) come first.
			_, err = r.Next(rctx)
		}
		var se *server.Error
		if !errors.As(err, &se) || !se.Timeout() || !strings.Contains(se.Error(), "db1") {
			t.Errorf("%s: Next after cancel: %v", k, err)
		}
		if waited := time.Since(began); waited > 10*time.Second {
			t.Errorf("%s: Next returned %v after the cancel", k, waited)
		}
		r.Close()
		waitGoroutines(t)
	}
}

// waitGoroutines fails the test when a goroutine of go-mysql is still
// running, after giving exiting ones a moment. (A plain count is not
// stable: the SQL driver keeps a goroutine per pooled connection, and a
// cancelled statement makes the server package open one for KILL QUERY.)
func waitGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "go-mysql-org/go-mysql") {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("go-mysql goroutines still running:\n%s", stacks)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBadStart(t *testing.T) {
	_, sv, ctx, g := primary(t, 1)
	for _, k := range []Kind{ReaderShow, ReaderStream} {
		for from, want := range map[gtid.Position]string{
			{File: "mysql-bin.000099", Pos: 4}:       "start position mysql-bin.000099:4: no binary log mysql-bin.000099",
			{File: "mysql-bin.000001", Pos: 5}:       "start position mysql-bin.000001:5: Error when executing command SHOW BINLOG EVENTS: Wrong offset",
			{File: "mysql-bin.000001", Pos: 1 << 40}: "start position mysql-bin.000001:1099511627776: outside mysql-bin.000001",
		} {
			r, err := Open(ctx, sv, Options{Reader: k, From: from})
			if err == nil {
				r.Close()
				t.Errorf("%s from %s: no error", k, from)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, "db1 (127.0.0.1:") || !strings.Contains(msg, "binlog_events") || !strings.Contains(msg, want) {
				t.Errorf("%s from %s: %q, want it to name the server and say %q", k, from, msg, want)
			}
		}
	}
	if _, err := Open(ctx, sv, Options{FromGTID: mariadbGTID(t, g(77))}); err == nil ||
		!strings.Contains(err.Error(), "start gtid "+g(77)+": not in the binary logs") {
		t.Errorf("unknown start gtid: %v", err)
	}
}

func TestListLogs(t *testing.T) {
	_, sv, ctx, _ := primary(t, 1)
	logs, err := ListLogs(ctx, sv)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || logs[0].Name != "mysql-bin.000001" || logs[1].Name != "mysql-bin.000002" || logs[0].Size < 500 {
		t.Errorf("logs: %+v", logs)
	}
}
