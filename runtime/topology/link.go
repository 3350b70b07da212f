package topology

import "sort"

// link connects every reachable replica to its source, found by the
// address in its replica status, and assigns roles. An unreachable node
// keeps the Source it was given (the server that listed it as a replica).
func (t *Topology) link(lookup func(addr string) *Node) {
	for _, n := range t.nodes {
		n.Replicas = nil
	}
	for _, n := range t.nodes {
		if n.Reachable() {
			n.Source = nil
			if n.IsReplica() {
				n.Source = lookup(n.SourceAddress())
			}
		}
		if n.Source == n {
			n.Source = nil
		}
		if n.Source != nil {
			n.Source.Replicas = append(n.Source.Replicas, n)
		}
	}
	for _, n := range t.nodes {
		sort.SliceStable(n.Replicas, func(i, j int) bool { return n.Replicas[i].Name < n.Replicas[j].Name })
	}
	t.primary = choosePrimary(t.nodes)
	for _, n := range t.nodes {
		n.Role = role(n, t.primary)
	}
}

// primaries are the reachable servers that replicate from no one and either
// have replicas or accept writes: each is the root of a tree of its own.
// Roots outside the deployment (the source of a misplaced replica) only
// count when the deployment has none.
func primaries(nodes []*Node) []*Node {
	var all, members []*Node
	for _, n := range nodes {
		if n.Reachable() && !n.IsReplica() && (len(n.Replicas) > 0 || !n.ReadOnly) {
			all = append(all, n)
			if !n.Outside {
				members = append(members, n)
			}
		}
	}
	if len(members) > 0 {
		return members
	}
	return all
}

// choosePrimary picks the primary: the only reachable root; failing that
// the only unreachable server that replicas name as their source (a dead
// primary); failing that the only writable server of a replication loop
// (co-primaries, one of them active). nil when none or several qualify.
func choosePrimary(nodes []*Node) *Node {
	if roots := primaries(nodes); len(roots) > 0 {
		if len(roots) == 1 {
			return roots[0]
		}
		return nil
	}
	var dead, looped []*Node
	for _, n := range nodes {
		switch {
		case !n.Reachable() && len(n.Replicas) > 0 && n.Source == nil:
			dead = append(dead, n)
		case n.Reachable() && !n.ReadOnly && inLoop(n):
			looped = append(looped, n)
		}
	}
	if len(dead) == 1 {
		return dead[0]
	}
	if len(dead) == 0 && len(looped) == 1 {
		return looped[0]
	}
	return nil
}

// inLoop reports whether following sources from n comes back to n.
func inLoop(n *Node) bool {
	seen := map[*Node]bool{}
	for s := n.Source; s != nil && !seen[s]; s = s.Source {
		if s == n {
			return true
		}
		seen[s] = true
	}
	return false
}

func role(n, primary *Node) Role {
	switch {
	case n == primary:
		return RolePrimary
	case !n.Reachable():
		return RoleUnknown
	case n.IsReplica() && hasReplicasBut(n, primary):
		return RoleRelay
	case n.IsReplica():
		return RoleReplica
	case len(n.Replicas) > 0 || !n.ReadOnly:
		return RolePrimary // one of several: see problem multiple_primaries
	}
	return RoleUnknown
}

// depthUnder is how many hops n is below root: 1 for a direct replica, 0
// when n is not under root.
func depthUnder(n, root *Node) int {
	seen := map[*Node]bool{}
	d := 1
	for s := n.Source; s != nil && !seen[s]; s = s.Source {
		if s == root {
			return d
		}
		seen[s] = true
		d++
	}
	return 0
}

// hasReplicasBut reports whether n has replicas other than p: the other
// half of a co-primary pair is a replica, not a relay.
func hasReplicasBut(n, p *Node) bool {
	for _, r := range n.Replicas {
		if r != p {
			return true
		}
	}
	return false
}
