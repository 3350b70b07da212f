package topology

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// refreshQuery is all Refresh reads of a server's settings: the ones
// whose change makes a new primary or a split brain (read_only, and
// super_read_only where it exists; see variablesQuery for why SHOW
// GLOBAL VARIABLES), and server_id, which tells a server replaced at the
// same address.
const refreshQuery = "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('server_id', 'read_only', 'super_read_only')"

// Refresh re-reads, on every server of prev, what moves from one second
// to the next (read_only, its replica status: threads, errors, heartbeats,
// positions, lag), in two statements per server where Discover needs
// five, and returns prev's topology with those answers, linked again.
// It follows no new address and reads no GTID state: GTIDs, errant
// transactions and the servers' settings are prev's.
//
// changed reports that the answers do not fit prev's shape: a server
// that answered and no longer does or the reverse, a replica with another
// source or none, another server_id or read_only, a read that failed.
// The result is then not to be judged: the caller runs Discover, which
// sees the new shape whole. A watcher calls Refresh between discoveries,
// and Discover when it reports a change and every so often.
func Refresh(ctx context.Context, prev *Topology) (t *Topology, changed bool, err error) {
	if prev == nil {
		return nil, false, fmt.Errorf("refresh: no topology to refresh")
	}
	nodes := make([]*Node, len(prev.nodes))
	was := map[*Node]*Node{}
	for i, o := range prev.nodes {
		c := *o
		c.Replicas, c.Errant, c.Role, c.Partial = nil, "", "", nil
		nodes[i], was[o] = &c, &c
	}
	var reads []func()
	for _, n := range nodes {
		if n.Server == nil {
			continue
		}
		reads = append(reads, func() {
			sctx, cancel := context.WithTimeout(ctx, prev.opts.ServerTimeout)
			defer cancel()
			refreshNode(sctx, n)
		})
	}
	fanOut(reads)
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("refresh: %w", err)
	}
	// The addresses prev's replicas named their sources by, aliases
	// included, lead to the same nodes.
	byAddr := map[string]*Node{}
	for _, o := range prev.nodes {
		byAddr[o.key()] = was[o]
	}
	for _, o := range prev.nodes {
		if o.Reachable() && o.IsReplica() && o.Source != nil {
			byAddr[strings.ToLower(o.SourceAddress())] = was[o.Source]
		}
	}
	for _, n := range nodes {
		if n.Source != nil {
			n.Source = was[n.Source]
		}
	}
	for i, o := range prev.nodes {
		if differs(o, nodes[i]) {
			changed = true
		}
		if n := nodes[i]; n.Reachable() && n.IsReplica() && byAddr[strings.ToLower(n.SourceAddress())] == nil {
			changed = true
		}
	}
	t = &Topology{nodes: nodes, opts: prev.opts}
	t.link(func(addr string) *Node { return byAddr[strings.ToLower(addr)] })
	t.problems = sortProblems(t.analyze())
	return t, changed, nil
}

// refreshNode reads one node again; it writes only to n. Its Flavor is
// the one Discover read.
func refreshNode(ctx context.Context, n *Node) {
	n.Err, n.Replica, n.Lag = nil, nil, nil
	res, err := n.Server.Aside(ctx, refreshQuery)
	if err != nil {
		n.Err = err
		return
	}
	vars := nameValues(res)
	if n.ServerID, err = strconv.ParseUint(vars["server_id"], 10, 32); err != nil {
		n.Err = fmt.Errorf("%s: server_id %q: %w", n.Server, vars["server_id"], err)
		return
	}
	n.ReadOnly = isOn(vars["read_only"])
	n.SuperReadOnly = optionalOn(vars, "super_read_only")
	if err := n.readReplicaStatus(ctx); err != nil {
		n.Partial = append(n.Partial, err)
	}
}

// differs reports whether a refreshed node no longer fits its old shape.
func differs(old, n *Node) bool {
	switch {
	case old.Reachable() != n.Reachable():
		return true
	case !n.Reachable():
		return false
	case len(n.Partial) > 0, old.ServerID != n.ServerID, old.ReadOnly != n.ReadOnly,
		(old.SuperReadOnly == nil) != (n.SuperReadOnly == nil),
		old.SuperReadOnly != nil && *old.SuperReadOnly != *n.SuperReadOnly,
		old.IsReplica() != n.IsReplica():
		return true
	}
	return n.IsReplica() && !strings.EqualFold(old.SourceAddress(), n.SourceAddress())
}
