package server

import (
	"context"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// How a wait's progress reads, from one status row.
func TestProgressWords(t *testing.T) {
	target, err := gtid.Parse("0-1-1234", gtid.MariaDB)
	if err != nil {
		t.Fatal(err)
	}
	pos := gtid.Position{File: "mysql-bin.000003", Pos: 5000}
	cases := []struct{ name, got, want string }{
		{"gtid", gtidBehind(target, &flavor.ReplicaStatus{ExecutedGTIDs: "0-1-422"}), "812 transactions behind"},
		{"gtid one", gtidBehind(target, &flavor.ReplicaStatus{ExecutedGTIDs: "0-1-1233"}), "1 transaction behind"},
		{"gtid unreadable", gtidBehind(target, &flavor.ReplicaStatus{ExecutedGTIDs: "x"}), ""},
		{"gtid no status", gtidBehind(target, nil), ""},
		{"position", positionBehind(pos, &flavor.ReplicaStatus{ExecPosition: flavor.Position{File: "mysql-bin.000003", Pos: 1000}}),
			"4000 bytes behind"},
		{"position other file", positionBehind(pos, &flavor.ReplicaStatus{ExecPosition: flavor.Position{File: "mysql-bin.000002", Pos: 9}}),
			"applied up to mysql-bin.000002:9"},
		{"receiver", receiverState(&flavor.ReplicaStatus{IOThread: "Connecting", LastIOError: "error connecting to master"}),
			"receiver connecting (error connecting to master)"},
		{"receiver up", receiverState(&flavor.ReplicaStatus{IORunning: true, IOThread: "Yes"}), ""},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

// Without a Progress, waits report to nothing; a timeout shown is the
// caller's, else what the context has left, else none.
func TestBeginWaitQuiet(t *testing.T) {
	s, err := New(Config{Host: "127.0.0.1", Port: 1, User: "u"})
	if err != nil {
		t.Fatal(err)
	}
	pw := s.BeginWait("waiting for x", time.Second)
	pw.Update("y")
	pw.End()
	if d := shownTimeout(context.Background(), 3*time.Second); d != 3*time.Second {
		t.Errorf("given: %v", d)
	}
	if d := shownTimeout(context.Background(), 0); d != 0 {
		t.Errorf("none: %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if d := shownTimeout(ctx, 0); d != time.Minute {
		t.Errorf("the run's: %v", d)
	}
}
