package topology

import (
	"testing"
)

// Dump threads that SHOW REPLICA HOSTS does not account for become
// guesses on the source's own port.
func TestGuessReplicas(t *testing.T) {
	n := mariadb("db1", 3306, 1)
	n.reported = []reportedReplica{{hostPort{"127.0.0.1", 3307}, 2}}
	if g := n.guessReplicas([]string{"127.0.0.1:5555"}); len(g) != 0 {
		t.Errorf("guessed %v with every thread reported", g)
	}
	g := n.guessReplicas([]string{"127.0.0.1:5555", "10.0.0.9:4444"})
	if len(g) != 1 || g[0].String() != "10.0.0.9:3306" {
		t.Errorf("guessed %v", g)
	}
}

// An unreachable address a source listed is dropped when a reachable
// server already stands for it: same server_id under the same source, or
// enough replicas for every dump thread.
func TestDropPhantoms(t *testing.T) {
	db1 := writable(mariadb("db1", 1, 1))
	db1.dumpThreads = 2
	db2 := replicaOf(mariadb("db2", 2, 2), db1)
	alias := unreachable(mariadb("db2.internal:2", 2, 0))
	alias.Host, alias.Via, alias.Source, alias.reportedID = "db2.internal", "replica hosts", db1, 2
	other := unreachable(mariadb("db3.internal:3", 3, 0))
	other.Host, other.Via, other.Source, other.reportedID = "db3.internal", "replica hosts", db1, 3
	guess := unreachable(mariadb("10.0.0.9:1", 1, 0))
	guess.Host, guess.Via, guess.Source = "10.0.0.9", "processlist", db1
	d := &discovery{byAddr: map[string]*Node{}}
	for _, n := range []*Node{db1, db2, alias, other, guess} {
		d.byAddr[n.key()] = n
		d.nodes = append(d.nodes, n)
	}
	d.dropPhantoms()
	var names []string
	for _, n := range d.nodes {
		names = append(names, n.Name)
	}
	// db3.internal is a replica nobody else accounts for, and with it the
	// two dump threads are not all explained: the guess stays too.
	if got := len(names); got != 4 || names[2] != "db3.internal:3" || names[3] != "10.0.0.9:1" {
		t.Errorf("kept %v", names)
	}
	db1.dumpThreads = 1
	d.dropPhantoms()
	if len(d.nodes) != 3 || d.lookup("10.0.0.9:1") != nil {
		t.Errorf("kept %d nodes after dropping the guess", len(d.nodes))
	}
}
