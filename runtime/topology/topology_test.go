package topology

import (
	"strings"
	"testing"
)

func healthy(t *testing.T) (db1, db2, db3 *Node, top *Topology) {
	db1 = same(t, writable(mariadb("db1", 23306, 1)), "0-1-42", "0-1-42")
	db2 = same(t, replicaOf(mariadb("db2", 23307, 2), db1), "0-1-42", "0-1-42")
	db3 = same(t, replicaOf(mariadb("db3", 23308, 3), db1), "0-1-42", "0-1-42")
	return db1, db2, db3, New([]*Node{db3, db1, db2}, Options{})
}

func TestHealthyTree(t *testing.T) {
	db1, db2, db3, top := healthy(t)
	if top.Primary() != db1 {
		t.Fatalf("primary %v", top.Primary())
	}
	if r := top.Replicas(); len(r) != 2 || r[0] != db2 || r[1] != db3 {
		t.Errorf("replicas %v", r)
	}
	for n, want := range map[*Node]Role{db1: RolePrimary, db2: RoleReplica, db3: RoleReplica} {
		if n.Role != want {
			t.Errorf("%s: role %s, want %s", n.Name, n.Role, want)
		}
	}
	wantProblems(t, top)
	want := `db1 127.0.0.1:23306 [primary, writable] mariadb 10.11.19 gtid 0-1-42
├─ db2 127.0.0.1:23307 [replica, read-only, lag 0s] io Yes sql Yes
└─ db3 127.0.0.1:23308 [replica, read-only, lag 0s] io Yes sql Yes
problems: none
`
	if got := top.String(); got != want {
		t.Errorf("drawing:\n%s\nwant:\n%s", got, want)
	}
}

// A relay's replicas hang under it; a server whose source answers
// nowhere prints as a root of its own.
func TestRelayTreeAndUnreachable(t *testing.T) {
	db1 := same(t, writable(mariadb("db1", 1, 1)), "0-1-5", "0-1-5")
	db2 := same(t, replicaOf(mariadb("db2", 2, 2), db1), "0-1-5", "0-1-5")
	db4 := same(t, replicaOf(mariadb("db4", 4, 4), db2), "0-1-5", "0-1-5")
	db3 := unreachable(mariadb("db3", 3, 3))
	db3.Source, db3.Via = db1, "replica hosts"
	top := New([]*Node{db1, db2, db3, db4}, Options{})
	if db2.Role != RoleRelay || db4.Role != RoleReplica || db3.Role != RoleUnknown {
		t.Errorf("roles %s %s %s", db2.Role, db4.Role, db3.Role)
	}
	want := `db1 127.0.0.1:1 [primary, writable] mariadb 10.11.19 gtid 0-1-5
├─ db2 127.0.0.1:2 [relay, read-only, lag 0s] io Yes sql Yes
│  └─ db4 127.0.0.1:4 [replica, read-only, lag 0s] io Yes sql Yes
└─ db3 127.0.0.1:3 [unreachable] dial tcp 127.0.0.1:3: connect: connection refused
problems:
  error db3: cannot be reached: dial tcp 127.0.0.1:3: connect: connection refused (db1 lists it as a replica) [unreachable]
`
	if got := top.String(); got != want {
		t.Errorf("drawing:\n%s\nwant:\n%s", got, want)
	}
	if r := top.Replicas(); len(r) != 3 || r[0] != db2 || r[1] != db4 || r[2] != db3 {
		t.Errorf("replicas %v", r)
	}
}

// When the primary is dead its replicas still name it: it is the primary
// a failover replaces.
func TestDeadPrimary(t *testing.T) {
	db1 := unreachable(mariadb("db1", 1, 1))
	db2 := same(t, replicaOf(mariadb("db2", 2, 2), db1), "0-1-5", "0-1-5")
	db3 := same(t, replicaOf(mariadb("db3", 3, 3), db1), "0-1-4", "0-1-4")
	for _, n := range []*Node{db2, db3} {
		n.Replica.IORunning, n.Replica.IOThread, n.Replica.SecondsBehind, n.Lag = false, "Connecting", nil, nil
		n.Replica.LastIOErrno, n.Replica.LastIOError = 2003, "error reconnecting to master"
	}
	top := New([]*Node{db1, db2, db3}, Options{})
	if top.Primary() != db1 || db1.Role != RolePrimary {
		t.Fatalf("primary %v role %s", top.Primary(), db1.Role)
	}
	wantProblems(t, top,
		"error unreachable db1",
		"error io_thread_stopped db2",
		"error io_thread_stopped db3")
	if !strings.HasPrefix(top.String(), "db1 127.0.0.1:1 [primary, unreachable]") {
		t.Errorf("drawing:\n%s", top)
	}
	c := top.Candidates(CandidateOptions{})
	if c[0].Node != db2 || c[1].Node != db3 || c[0].Rank != 1 || c[1].Rank != 2 {
		t.Errorf("candidates %+v", c)
	}
}

func TestBinlogState(t *testing.T) {
	s, err := ParseBinlogState(" 1-5-7,0-2-4 , 0-1-10")
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != "0-1-10,0-2-4,1-5-7" {
		t.Errorf("%s", s)
	}
	if seq, ok := s.Last(0, 2); !ok || seq != 4 {
		t.Errorf("Last(0,2) = %d %v", seq, ok)
	}
	if _, ok := s.Last(1, 2); ok {
		t.Error("Last(1,2) found")
	}
	if s, err := ParseBinlogState(""); err != nil || len(s) != 0 {
		t.Errorf("empty: %v %v", s, err)
	}
	for _, bad := range []string{"0-1-2,0-1-3", "0-1", "0-1-2,", "x"} {
		if _, err := ParseBinlogState(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
