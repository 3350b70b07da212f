package binlog

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// readUntil reads events until one satisfies stop, and returns them all.
func readUntil(t *testing.T, ctx context.Context, r Reader, stop func(Event) bool) []Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var out []Event
	for {
		ev, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		out = append(out, ev)
		if stop(ev) {
			return out
		}
	}
}

// checkOnce fails on an event returned twice or out of order: positions
// must only grow, file by file.
func checkOnce(t *testing.T, evs []Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		c, err := evs[i].Position().Compare(evs[i-1].Position())
		if err != nil || c <= 0 {
			t.Errorf("event %d at %s comes after %s (%v): returned twice or out of order", i, evs[i].Position(), evs[i-1].Position(), err)
		}
	}
}

// Following through a restart of the server: with Reconnect both readers
// wait it out and go on from where they were, nothing skipped or repeated.
func TestFollowThroughRestart(t *testing.T) {
	for _, k := range []Kind{ReaderShow, ReaderStream} {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
			ctx := testContext(t)
			sv := connect(t, sb, sb.Primary())
			exec(t, ctx, sv, "CREATE DATABASE r", "CREATE TABLE r.t (id INT PRIMARY KEY)")
			from, err := sv.Position(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Open(ctx, sv, Options{Reader: k, From: from, Follow: true, Reconnect: 30 * time.Second,
				PollInterval: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			exec(t, ctx, sv, "INSERT INTO r.t VALUES (1)")
			evs := readUntil(t, ctx, r, func(ev Event) bool { return ev.Type == "xid" })

			m, err := sb.Machine("db1")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Restart(ctx); err != nil {
				t.Fatal(err)
			}
			execRetry(t, ctx, sv, "INSERT INTO r.t VALUES (2)")
			evs = append(evs, readUntil(t, ctx, r, func(ev Event) bool { return ev.Type == "xid" })...)

			checkOnce(t, evs)
			var rows, stops int
			for _, ev := range evs {
				switch ev.Type {
				case "write_rows":
					rows++
					if ev.Table != "r.t" || (k == ReaderStream && ev.Rows != 1) {
						t.Errorf("row event %+v; want r.t, 1 row", ev)
					}
				case "stop":
					stops++
				}
			}
			if rows != 2 || stops != 1 {
				t.Errorf("%d row events and %d stop events across the restart; want 2 and 1: %+v", rows, stops, evs)
			}
		})
	}
}

// execRetry runs a statement on a server that has just restarted: the
// session's first statement may meet the connection the restart broke.
func execRetry(t *testing.T, ctx context.Context, sv *server.Server, q string) {
	t.Helper()
	var err error
	for range 20 {
		if _, err = sv.Exec(ctx, q); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal(err)
}

// A dump lost in the middle of a transaction resumes at the transaction's
// GTID event, so that its row events find their Table_map again, and
// returns only what had not been returned.
func TestStreamResumesMidTransaction(t *testing.T) {
	_, sv, ctx, g := primary(t, 1)
	lim, err := Open(ctx, sv, Options{Reader: ReaderStream, FromGTID: mariadbGTID(t, g(3)), Follow: true,
		Reconnect: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close()
	sr := lim.(*limited).in.(*streamReader)
	// g(3) is the INSERT: gtid, annotate_rows, table_map, write_rows, xid.
	evs := readUntil(t, ctx, lim, func(ev Event) bool { return ev.Type == "table_map" })
	if got := len(evs); got != 3 || evs[0].Type != "gtid" {
		t.Fatalf("the start of %s: %+v", g(3), evs)
	}
	if err := sr.reconnect(ctx, errors.New("connection dropped by the test")); err != nil {
		t.Fatal(err)
	}
	if sr.conv.start != evs[0].Position() {
		t.Errorf("resumed at %s; want the transaction's GTID event at %s", sr.conv.start, evs[0].Position())
	}
	evs = append(evs, readUntil(t, ctx, lim, func(ev Event) bool { return ev.Type == "xid" })...)
	checkOnce(t, evs)
	if len(evs) != 5 || evs[3].Type != "write_rows" || evs[3].Table != "d1.t" || evs[3].Rows != 3 {
		t.Errorf("after the reconnect: %+v; want write_rows of d1.t (3 rows), then xid", evs[3:])
	}
	var zero gtid.Position
	if sr.resumeAt == zero {
		t.Error("resumeAt not kept")
	}
}
