// Package topology finds how a set of MySQL or MariaDB servers replicate:
// the primary, its replicas and relays, each server's replication state,
// the problems an operator must act on, and which replica is the best to
// promote. Discover gathers the status of every server in parallel, one
// goroutine and one result per server; a server that does not answer
// becomes a node carrying its error and never stops the discovery.
//
// The package does not read deployment files: the caller says how to reach
// a server found by address (Options.NewServer), which servers belong to
// the deployment (Options.Member) and each server's promotion rule
// (CandidateOptions.Promotion).
package topology

import (
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Role is the part a server plays in the replication tree.
type Role string

const (
	RolePrimary Role = "primary" // the root the others replicate from
	RoleRelay   Role = "relay"   // a replica with replicas of its own
	RoleReplica Role = "replica" // a replica without replicas
	// RoleUnknown is an unreachable server, or one that neither replicates
	// nor has replicas and is read-only (a spare, a fenced old primary).
	RoleUnknown Role = "unknown"
)

// Node is one server and what discovery learnt about it. A node whose Err
// is set was not reachable: only Server, Name, Host, Port, Source and
// Replicas are meaningful then.
type Node struct {
	Server *server.Server // nil only when Options.NewServer failed for its address
	Name   string         // the deployment's name, or the address
	Host   string
	Port   int
	// Via says how the node was found: "seed", "source" (a replica's
	// source), "replica hosts" (SHOW REPLICA HOSTS) or "processlist" (a
	// binlog dump thread: the port is a guess, see guessReplicas).
	Via string
	// Outside is true when Options.Member says the server is not part of
	// the deployment.
	Outside bool

	Err     error   // connecting or reading the variables failed
	Partial []error // later reads that failed on a reachable server

	Flavor            flavor.Flavor
	ServerID          uint64
	ServerUUID        string // MySQL; "" on MariaDB, which has none
	Hostname          string // @@hostname, with Port, Datadir: tells aliases from clashes
	ListenPort        int    // @@port
	Datadir           string
	ReadOnly          bool
	SuperReadOnly     *bool // nil where the variable does not exist (MariaDB)
	LogBin            bool
	LogReplicaUpdates bool // log_slave_updates / log_replica_updates
	BinlogFormat      string
	GTIDStrictMode    *bool  // MariaDB only
	GTIDMode          string // MySQL only: OFF, OFF_PERMISSIVE, ON_PERMISSIVE, ON

	// GTIDExecuted is what the server has applied: MySQL gtid_executed,
	// MariaDB gtid_current_pos (see flavor.GTIDExecutedQuery for why).
	GTIDExecuted gtid.Set
	// MariaDB keeps three positions, read in one statement: what its binary
	// log holds, what it applied as a replica, and their per-domain merge.
	GTIDBinlogPos, GTIDSlavePos, GTIDCurrentPos gtid.Set
	// BinlogState is MariaDB's gtid_binlog_state: the last GTID of every
	// (domain, server_id) pair in its binary log.
	BinlogState BinlogState

	// SemiSync is the semi-synchronous replication state: the settings
	// always, the status (active, clients) only where a side is turned on;
	// nil on a MySQL server without the plugins.
	SemiSync *flavor.SemiSync

	Replica *flavor.ReplicaStatus // nil when the server is not a replica
	Lag     *int64                // seconds behind its source; nil when unknown or not a replica

	Role     Role
	Source   *Node   // whom it replicates from (for an unreachable node: who lists it as a replica)
	Replicas []*Node // who replicates from it, in name order
	// Errant is the text of the transactions it has and the primary lacks,
	// "" when none were found (see errant.go for how).
	Errant string

	semiSyncVars map[string]string // readVariables' values, for readSemiSyncStatus
	reported     []reportedReplica // what its SHOW REPLICA HOSTS listed
	dumpThreads  int               // binlog dump threads in its processlist
	guessed      []hostPort        // addresses guessed from those threads
	reportedID   uint64            // the Server_id its lister gave, for Via "replica hosts"
}

type hostPort struct {
	host string
	port int
}

type reportedReplica struct {
	hostPort
	serverID uint64
}

func (h hostPort) String() string { return net.JoinHostPort(h.host, strconv.Itoa(h.port)) }

// Address is "host:port", or the socket path of a server reached by socket.
func (n *Node) Address() string {
	if n.Host == "" && n.Server != nil {
		return n.Server.Address()
	}
	return hostPort{n.Host, n.Port}.String()
}

// key identifies the node's address in discovery's maps.
func (n *Node) key() string {
	if n.Host == "" && n.Server != nil {
		return strings.ToLower(n.Server.Address())
	}
	return addrKey(n.Host, n.Port)
}

// Reachable reports whether the server answered.
func (n *Node) Reachable() bool { return n.Err == nil }

// IsReplica reports whether the server has a replication source configured.
func (n *Node) IsReplica() bool { return n.Replica != nil }

// SourceAddress is the source named in the replica status, "" when the
// server is not a replica.
func (n *Node) SourceAddress() string {
	if n.Replica == nil {
		return ""
	}
	return hostPort{n.Replica.SourceHost, n.Replica.SourcePort}.String()
}

// Topology is what Discover found: every node, the primary, and the
// problems.
type Topology struct {
	nodes    []*Node // discovery order: seeds first
	primary  *Node
	problems []Problem
	opts     Options
}

// New builds a topology from nodes gathered elsewhere (or built by hand in
// tests): it links each replica to its source by address, assigns roles,
// and looks for problems. Nodes must have Host and Port set; Source and
// Replicas of an unreachable node may be preset.
func New(nodes []*Node, opts Options) *Topology {
	opts = opts.withDefaults()
	t := &Topology{nodes: nodes, opts: opts}
	byAddr := map[string]*Node{}
	for _, n := range nodes {
		byAddr[n.key()] = n
	}
	t.link(func(addr string) *Node { return byAddr[strings.ToLower(addr)] })
	t.problems = sortProblems(t.analyze())
	return t
}

// Nodes returns every node, seeds first, then in the order found.
func (t *Topology) Nodes() []*Node { return append([]*Node(nil), t.nodes...) }

// Primary is the server the others replicate from: the one reachable
// server that replicates from no one and has replicas or is writable.
// When no such server answers, it is the one unreachable server that
// reachable replicas name as their source (a dead primary, for a
// failover). nil when there is none, or more than one (see Problems).
func (t *Topology) Primary() *Node { return t.primary }

// Replicas are the servers under the primary, relays and their replicas
// included, depth first in name order. Empty without a primary.
func (t *Topology) Replicas() []*Node {
	var out []*Node
	if t.primary == nil {
		return nil
	}
	walk(t.primary, func(n *Node, depth int) {
		if depth > 0 {
			out = append(out, n)
		}
	})
	return out
}

// Node finds a node by name or address.
func (t *Topology) Node(nameOrAddress string) *Node {
	for _, n := range t.nodes {
		if n.Name == nameOrAddress || n.Address() == nameOrAddress {
			return n
		}
	}
	return nil
}

// Problems lists what is wrong, errors first.
func (t *Topology) Problems() []Problem { return append([]Problem(nil), t.problems...) }

// HasErrors reports whether any problem has severity error.
func (t *Topology) HasErrors() bool {
	for _, p := range t.problems {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// walk visits n and everything below it, depth first, each node once
// (replication can loop: two servers replicating from each other).
func walk(n *Node, fn func(n *Node, depth int)) {
	seen := map[*Node]bool{}
	var visit func(n *Node, depth int)
	visit = func(n *Node, depth int) {
		if seen[n] {
			return
		}
		seen[n] = true
		fn(n, depth)
		for _, c := range n.Replicas {
			visit(c, depth+1)
		}
	}
	visit(n, 0)
}

// errMessage is err without the "db2 (127.0.0.1:3307): " prefix that
// server errors carry, for lines that already name the server.
func errMessage(err error) string {
	var se *server.Error
	if errors.As(err, &se) {
		if se.Code != 0 {
			return se.Op + ": Error " + strconv.Itoa(se.Code) + ": " + se.Message
		}
		return se.Op + ": " + se.Message
	}
	return err.Error()
}
