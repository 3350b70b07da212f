package topology

import (
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/server"
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

func newTestServer(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.User = "u"
	sv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

// A replica pointed at a server's replication address (replication_host
// in the deployment) is linked to the server the tool reaches at its own
// address, and discovery never dials the replication address: with the
// tool's path cut, the replicas' receivers still speak for the primary.
func TestReplicationAddressSeed(t *testing.T) {
	dialled := map[string]bool{}
	d := &discovery{byAddr: map[string]*Node{}, opts: Options{NewServer: func(host string, port int) (*server.Server, error) {
		dialled[hostPort{host, port}.String()] = true
		return newTestServer(t, server.Config{Host: host, Port: port}), nil
	}}.withDefaults()}
	sv := newTestServer(t, server.Config{Name: "db1", Host: "127.0.0.1", Port: 9001,
		ReplicationHost: "10.1.0.1", ReplicationPort: 3306})
	db1 := unreachable(d.add(sv, nil, "127.0.0.1", 9001, "seed"))
	d.aliasReplication(db1)
	db2 := replicaOf(mariadb("db2", 3307, 2), &Node{Host: "10.1.0.1", Port: 3306})
	d.add(nil, nil, db2.Host, db2.Port, "seed")
	d.nodes = []*Node{db1, db2}
	d.byAddr[db2.key()] = db2
	if next := d.expand([]*Node{db2}); len(next) != 0 || len(dialled) != 0 {
		t.Fatalf("followed %v, dialled %v", next, dialled)
	}
	top := &Topology{nodes: d.nodes}
	top.link(d.lookup)
	if db2.Source != db1 || top.Primary() != db1 {
		t.Errorf("db2's source %v, primary %v; want db1", db2.Source, top.Primary())
	}
	// Without a replication address of its own, a source address is
	// followed as before.
	db3 := replicaOf(mariadb("db3", 3308, 3), &Node{Host: "10.9.9.9", Port: 3306})
	if next := d.expand([]*Node{db3}); len(next) != 1 || next[0].Address() != "10.9.9.9:3306" {
		t.Errorf("followed %v", next)
	}
}

// A replication address found on the way (no seed stands for it) is
// followed as the server the deployment names for it: the node stands at
// the tool's address, and the replication address leads to it.
func TestReplicationAddressFollowed(t *testing.T) {
	d := &discovery{byAddr: map[string]*Node{}, opts: Options{NewServer: func(host string, port int) (*server.Server, error) {
		if host == "10.1.0.1" && port == 3306 { // what the bindings resolve through the deployment
			return newTestServer(t, server.Config{Name: "db1", Host: "127.0.0.1", Port: 9001,
				ReplicationHost: "10.1.0.1", ReplicationPort: 3306}), nil
		}
		return newTestServer(t, server.Config{Host: host, Port: port}), nil
	}}.withDefaults()}
	n := d.follow(hostPort{"10.1.0.1", 3306}, "source", nil, 0)
	if n == nil || n.Address() != "127.0.0.1:9001" || n.Name != "db1" {
		t.Fatalf("followed %v", n)
	}
	if d.lookup("10.1.0.1:3306") != n || d.lookup("127.0.0.1:9001") != n {
		t.Errorf("lookup: %v, %v", d.lookup("10.1.0.1:3306"), d.lookup("127.0.0.1:9001"))
	}
	if again := d.follow(hostPort{"127.0.0.1", 9001}, "replica hosts", nil, 0); again != nil {
		t.Errorf("followed the tool's address again: %v", again)
	}
}
