package topology

import (
	"errors"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// Hand-built nodes: no server needed. A node starts as a healthy MariaDB
// 10.11 server with binlog and log_slave_updates, read-only.

func mariadb(name string, port int, id uint64) *Node {
	return &Node{Name: name, Host: "127.0.0.1", Port: port, Via: "seed", ServerID: id,
		Flavor: flavor.MustParse("10.11.19-MariaDB"), Hostname: "host-" + name, ListenPort: port,
		ReadOnly: true, LogBin: true, LogReplicaUpdates: true, BinlogFormat: "ROW"}
}

func mysql(name string, port int, id uint64, uuid string) *Node {
	n := mariadb(name, port, id)
	n.Flavor = flavor.MustParse("8.0.36")
	n.ServerUUID = uuid
	off := false
	n.SuperReadOnly = &off
	return n
}

func writable(n *Node) *Node {
	n.ReadOnly = false
	if n.SuperReadOnly != nil {
		off := false
		n.SuperReadOnly = &off
	}
	return n
}

func superReadOnly(n *Node) *Node {
	on := true
	n.SuperReadOnly = &on
	return n
}

// replicaOf makes n a healthy replica of src, 0 s behind.
func replicaOf(n, src *Node) *Node {
	var zero int64
	n.Replica = &flavor.ReplicaStatus{SourceHost: src.Host, SourcePort: src.Port,
		IORunning: true, IOThread: "Yes", SQLRunning: true, SQLThread: "Yes", SecondsBehind: &zero}
	n.Lag = &zero
	return n
}

// mariaGTIDs sets the MariaDB positions and binlog state.
func mariaGTIDs(t *testing.T, n *Node, binlogPos, slavePos, currentPos, state string) *Node {
	t.Helper()
	parse := func(text string) gtid.Set {
		s, err := gtid.Parse(text, gtid.MariaDB)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	n.GTIDBinlogPos, n.GTIDSlavePos, n.GTIDCurrentPos = parse(binlogPos), parse(slavePos), parse(currentPos)
	n.GTIDExecuted = n.GTIDCurrentPos
	var err error
	if n.BinlogState, err = ParseBinlogState(state); err != nil {
		t.Fatal(err)
	}
	return n
}

// same sets one MariaDB GTID position everywhere, as on a server whose
// binary log has everything it applied.
func same(t *testing.T, n *Node, pos, state string) *Node {
	slave := pos
	if n.Replica == nil {
		slave = ""
	}
	return mariaGTIDs(t, n, pos, slave, pos, state)
}

func mysqlGTIDs(t *testing.T, n *Node, executed string) *Node {
	t.Helper()
	s, err := gtid.Parse(executed, gtid.MySQL)
	if err != nil {
		t.Fatal(err)
	}
	n.GTIDExecuted = s
	return n
}

func unreachable(n *Node) *Node {
	n.Err = errors.New("dial tcp " + n.Address() + ": connect: connection refused")
	return n
}

// kinds lists "kind node" for every problem, node "-" for the topology.
func kinds(top *Topology) []string {
	var out []string
	for _, p := range top.Problems() {
		who := "-"
		if p.Node != nil {
			who = p.Node.Name
		}
		out = append(out, string(p.Severity)+" "+p.Kind+" "+who)
	}
	return out
}

func wantProblems(t *testing.T, top *Topology, want ...string) {
	t.Helper()
	got := kinds(top)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s\n\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), top)
	}
}

func problemOf(t *testing.T, top *Topology, kind string) Problem {
	t.Helper()
	for _, p := range top.Problems() {
		if p.Kind == kind {
			return p
		}
	}
	t.Fatalf("no %s problem in:\n%s", kind, top)
	return Problem{}
}
