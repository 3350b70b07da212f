package topology

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Options of Discover.
type Options struct {
	// NewServer makes a server for an address found on the way (a
	// replica's source, a replica a source lists), with the credentials
	// the caller chooses. Discover calls it only from its own goroutine,
	// never concurrently, so it may touch state that is not thread-safe.
	// nil: a server with the first seed's user, password and TLS settings.
	NewServer func(host string, port int) (*server.Server, error)
	// Member tells whether a server belongs to the deployment; nil: all do.
	Member func(*server.Server) bool
	// LagThreshold is the replication lag above which a replica is a
	// problem (a warning). Default DefaultLagThreshold.
	LagThreshold time.Duration
	// ServerTimeout bounds the reads of each server, so that one hung
	// server costs at most this much. Default DefaultServerTimeout.
	ServerTimeout time.Duration
	// MaxServers stops discovery from following addresses beyond this many
	// servers. Default DefaultMaxServers.
	MaxServers int
	// ReplicationTLS says the deployment wants every replication
	// connection over verified TLS (repl_tls): a replica that does not
	// verify its source's certificate is then a problem.
	ReplicationTLS bool
	// OptionReadOnly reads read-only from a server's option file: on is
	// its value, known false when the caller cannot read the file (no
	// machine). nil: option files are not checked.
	OptionReadOnly func(*Node) (on, known bool)
}

// Defaults of Options.
const (
	DefaultLagThreshold  = time.Minute
	DefaultServerTimeout = 10 * time.Second
	DefaultMaxServers    = 256
)

func (o Options) withDefaults() Options {
	if o.LagThreshold <= 0 {
		o.LagThreshold = DefaultLagThreshold
	}
	if o.ServerTimeout <= 0 {
		o.ServerTimeout = DefaultServerTimeout
	}
	if o.MaxServers <= 0 {
		o.MaxServers = DefaultMaxServers
	}
	return o
}

// discovery is the state of one Discover call. Only the calling goroutine
// touches it; the per-server goroutines write to their own Node.
type discovery struct {
	opts      Options
	byAddr    map[string]*Node // every address tried, aliases included
	nodes     []*Node          // distinct servers in the order found
	created   int
	truncated []string // addresses not followed because of MaxServers
}

// Discover finds the topology around seeds: from each server it walks up
// (the source in its replica status) and down (the replicas its SHOW
// REPLICA HOSTS lists, and its binlog dump threads), round after round,
// reading the servers of each round in parallel until no new address turns
// up. A server that does not answer becomes a node with its error. The
// error is only for a call that cannot start (no seed) or a context that
// ended.
func Discover(ctx context.Context, seeds []*server.Server, opts Options) (*Topology, error) {
	if len(seeds) == 0 {
		return nil, errors.New("discover: no server to start from")
	}
	opts = opts.withDefaults()
	if opts.NewServer == nil {
		opts.NewServer = sameCredentials(seeds[0])
	}
	d := &discovery{opts: opts, byAddr: map[string]*Node{}}
	var pending []*Node
	for _, sv := range seeds {
		cfg := sv.Config()
		port := cfg.Port
		if port == 0 && cfg.Socket == "" {
			port = server.DefaultPort
		}
		if n := d.add(sv, nil, cfg.Host, port, "seed"); n != nil {
			pending = append(pending, n)
		}
	}
	for _, n := range pending {
		d.aliasReplication(n)
	}
	for len(pending) > 0 {
		gatherAll(ctx, pending, opts.ServerTimeout)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("discover: %w", err)
		}
		pending = d.expand(d.merge(pending))
	}
	d.dropPhantoms()
	t := &Topology{nodes: d.nodes, opts: opts}
	t.link(d.lookup)
	if p := t.primary; p != nil && p.Reachable() {
		// The primary's GTID state is read again, after every replica's:
		// whatever a replica got from the primary, the primary had by then.
		rctx, cancel := context.WithTimeout(ctx, opts.ServerTimeout)
		if err := readGTIDs(rctx, p); err != nil {
			p.Partial = append(p.Partial, err)
		}
		cancel()
	}
	t.problems = sortProblems(append(t.analyze(), d.problems()...))
	return t, nil
}

// sameCredentials makes servers that log in as seed does.
func sameCredentials(seed *server.Server) func(string, int) (*server.Server, error) {
	return func(host string, port int) (*server.Server, error) {
		cfg := seed.Config()
		cfg.Name, cfg.Host, cfg.Port, cfg.Socket = "", host, port, ""
		return server.New(cfg)
	}
}

func addrKey(host string, port int) string {
	return strings.ToLower(hostPort{host, port}.String())
}

func (d *discovery) lookup(addr string) *Node { return d.byAddr[strings.ToLower(addr)] }

// add registers a server not seen yet; nil when its address is known.
func (d *discovery) add(sv *server.Server, err error, host string, port int, via string) *Node {
	n := &Node{Server: sv, Err: err, Host: host, Port: port, Via: via, Name: hostPort{host, port}.String()}
	if sv != nil {
		n.Name = sv.Name()
	}
	key := n.key()
	if _, ok := d.byAddr[key]; ok {
		return nil
	}
	n.Outside = d.opts.Member != nil && (sv == nil || !d.opts.Member(sv))
	d.byAddr[key] = n
	d.created++
	return n
}

// follow registers an address found on the way, making its server.
func (d *discovery) follow(hp hostPort, via string, lister *Node, id uint64) *Node {
	if hp.host == "" || d.byAddr[addrKey(hp.host, hp.port)] != nil {
		return nil
	}
	if d.created >= d.opts.MaxServers {
		d.truncated = append(d.truncated, hp.String())
		return nil
	}
	sv, err := d.opts.NewServer(hp.host, hp.port)
	if err != nil {
		sv = nil
		err = fmt.Errorf("%s: %w", hp, err)
	}
	if tool, ok := toolAddress(sv, hp); ok {
		// hp is where replicas reach a server the tool reaches elsewhere:
		// the node stands at the tool's address, hp is an alias of it.
		if known := d.byAddr[addrKey(tool.host, tool.port)]; known != nil {
			d.byAddr[addrKey(hp.host, hp.port)] = known
			return nil
		}
		hp = tool
	}
	n := d.add(sv, err, hp.host, hp.port, via)
	if n == nil {
		return nil
	}
	d.aliasReplication(n)
	if lister != nil {
		n.Source, n.reportedID = lister, id
	}
	return n
}

// toolAddress is the address the tool reaches sv at, when found at hp
// and hp is only the address replicas use for it (its replication_host).
func toolAddress(sv *server.Server, hp hostPort) (hostPort, bool) {
	if sv == nil {
		return hostPort{}, false
	}
	cfg := sv.Config()
	rh, rp := cfg.ReplicationAddress()
	tool := hostPort{cfg.Host, cfg.Port}
	if cfg.Socket != "" || !strings.EqualFold(rh, hp.host) || rp != hp.port ||
		addrKey(tool.host, tool.port) == addrKey(hp.host, hp.port) {
		return hostPort{}, false
	}
	if tool.port == 0 {
		tool.port = server.DefaultPort
	}
	return tool, true
}

// aliasReplication makes the address replicas use for n's server (its
// replication address, when it has one of its own) lead to n, so that a
// replica pointed there is linked to n without the tool dialling an
// address it is not meant to use: with the tool's path to the primary
// cut, the replicas' receivers still tell that the primary runs.
func (d *discovery) aliasReplication(n *Node) {
	if n.Server == nil {
		return
	}
	cfg := n.Server.Config()
	if cfg.ReplicationHost == "" && cfg.ReplicationPort == 0 {
		return
	}
	host, port := cfg.ReplicationAddress()
	if host == "" {
		return
	}
	if key := addrKey(host, port); d.byAddr[key] == nil {
		d.byAddr[key] = n
	}
}

// gatherAll reads the nodes in parallel, one goroutine per server.
func gatherAll(ctx context.Context, nodes []*Node, timeout time.Duration) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n.Server == nil {
			continue // NewServer failed: Err says why
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			gather(sctx, n)
		}()
	}
	wg.Wait()
}

// merge keeps the nodes of a round that are new servers, and makes the
// others aliases: one server reached under a second address (a replica's
// report_host naming it "db1.example" where the deployment says 10.0.0.1)
// must not count twice, nor pass for a server_id clash. Two addresses are
// one server when @@hostname, @@port, @@datadir, server_id and server_uuid
// all agree; two clones of one datadir on machines that share a host name
// would pass for one, which is the price of MariaDB having no server_uuid.
// Of two addresses, the deployment's stands for the server.
func (d *discovery) merge(round []*Node) []*Node {
	var fresh []*Node
	for _, n := range round {
		orig := d.same(n)
		switch {
		case orig == nil:
			d.nodes = append(d.nodes, n)
			fresh = append(fresh, n)
		case orig.Outside && !n.Outside:
			d.replace(orig, n) // orig's addresses were, or are being, followed
		default:
			d.byAddr[n.key()] = orig
		}
	}
	return fresh
}

// replace puts n wherever old was.
func (d *discovery) replace(old, n *Node) {
	for i, o := range d.nodes {
		if o == old {
			d.nodes[i] = n
		}
		if o.Source == old {
			o.Source = n
		}
	}
	for k, o := range d.byAddr {
		if o == old {
			d.byAddr[k] = n
		}
	}
	d.byAddr[n.key()] = n
}

func (d *discovery) same(n *Node) *Node {
	if !n.Reachable() || n.Hostname == "" {
		return nil
	}
	for _, o := range d.nodes {
		if o.Reachable() && o.Hostname == n.Hostname && o.ListenPort == n.ListenPort &&
			o.Datadir == n.Datadir && o.ServerID == n.ServerID && o.ServerUUID == n.ServerUUID {
			return o
		}
	}
	return nil
}

// expand follows the addresses the new nodes named: up to each source,
// down to each listed replica. It returns the next round.
func (d *discovery) expand(fresh []*Node) []*Node {
	var next []*Node
	add := func(n *Node) {
		if n != nil {
			next = append(next, n)
		}
	}
	for _, n := range fresh {
		if !n.Reachable() {
			continue
		}
		if n.IsReplica() {
			add(d.follow(hostPort{n.Replica.SourceHost, n.Replica.SourcePort}, "source", nil, 0))
		}
		for _, r := range n.reported {
			add(d.follow(r.hostPort, "replica hosts", n, r.serverID))
		}
		for _, g := range n.guessed {
			add(d.follow(g, "processlist", n, 0))
		}
	}
	return next
}

// dropPhantoms removes unreachable nodes that only stand for a server
// already found under another address. A replica's report_host may be a
// name that does not resolve from here while the deployment reaches the
// same server by IP: its lister gave its server_id, and a reachable
// server with that server_id replicates from the lister. A guess from a
// binlog dump thread is dropped when the lister's reachable replicas
// already account for every dump thread.
func (d *discovery) dropPhantoms() {
	keep := d.nodes[:0:0]
	for _, n := range d.nodes {
		if n.Reachable() || n.Source == nil || !d.phantom(n) {
			keep = append(keep, n)
			continue
		}
		delete(d.byAddr, n.key())
	}
	d.nodes = keep
}

func (d *discovery) phantom(n *Node) bool {
	lister := n.Source
	found := 0
	for _, m := range d.nodes {
		if !m.Reachable() || !m.IsReplica() || d.lookup(m.SourceAddress()) != lister {
			continue
		}
		found++
		if n.Via == "replica hosts" && m.ServerID == n.reportedID {
			return true
		}
	}
	return n.Via == "processlist" && found >= lister.dumpThreads
}

// problems are the discovery's own: addresses it did not follow.
func (d *discovery) problems() []Problem {
	if len(d.truncated) == 0 {
		return nil
	}
	return []Problem{{Severity: SeverityWarning, Kind: KindIncomplete,
		Message: "discovery stopped at " + strconv.Itoa(d.opts.MaxServers) + " servers; not followed: " +
			strings.Join(d.truncated, ", ")}}
}
