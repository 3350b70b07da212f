package topology

import (
	"fmt"
	"io"
	"strings"
)

// Print draws the tree and the problems:
//
//	db1 127.0.0.1:23306 [primary, writable] mariadb 10.11.19 gtid 0-1-42
//	├─ db2 127.0.0.1:23307 [replica, read-only, lag 0s] io Yes sql Yes
//	└─ db3 127.0.0.1:23308 [replica, read-only, lag 0s] io Yes sql No
//	problems:
//	  error db3: the SQL thread (applier) is "No": ... [sql_thread_stopped]
func (t *Topology) Print(w io.Writer) error {
	_, err := io.WriteString(w, t.String())
	return err
}

// String is what Print writes.
func (t *Topology) String() string {
	var b strings.Builder
	printed := map[*Node]bool{}
	draw := func(root *Node) {
		t.drawTree(&b, root, printed)
	}
	if t.primary != nil {
		draw(t.primary)
	}
	for _, n := range t.nodes {
		if !printed[n] && n.Source == nil {
			draw(n)
		}
	}
	for _, n := range t.nodes { // loops without a primary have no root
		if !printed[n] {
			draw(n)
		}
	}
	if len(t.problems) == 0 {
		b.WriteString("problems: none\n")
		return b.String()
	}
	b.WriteString("problems:\n")
	for _, p := range t.problems {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

func (t *Topology) drawTree(b *strings.Builder, root *Node, printed map[*Node]bool) {
	var visit func(n *Node, prefix, branch string)
	visit = func(n *Node, prefix, branch string) {
		printed[n] = true
		b.WriteString(prefix + branch + t.line(n) + "\n")
		switch branch {
		case "├─ ":
			prefix += "│  "
		case "└─ ":
			prefix += "   "
		}
		var kids []*Node
		for _, c := range n.Replicas {
			if !printed[c] {
				kids = append(kids, c)
			}
		}
		for i, c := range kids {
			if i == len(kids)-1 {
				visit(c, prefix, "└─ ")
			} else {
				visit(c, prefix, "├─ ")
			}
		}
	}
	visit(root, "", "")
}

// line describes one node: name, address, [role, read-only, lag], then the
// version and GTIDs for a primary, the threads for a replica.
func (t *Topology) line(n *Node) string {
	head := n.Name
	if addr := n.Address(); addr != n.Name {
		head += " " + addr
	}
	if !n.Reachable() {
		tags := "unreachable"
		if n.Role == RolePrimary {
			tags = "primary, unreachable"
		}
		return fmt.Sprintf("%s [%s] %s", head, tags, errMessage(n.Err))
	}
	tags := []string{string(n.Role)}
	if n.ReadOnly {
		tags = append(tags, "read-only")
	} else {
		tags = append(tags, "writable")
	}
	if n.IsReplica() {
		lag := "lag ?"
		if n.Lag != nil {
			lag = fmt.Sprintf("lag %ds", *n.Lag)
		}
		tags = append(tags, lag)
		if n.Replica.SQLDelay > 0 {
			tags = append(tags, fmt.Sprintf("delayed %ds", n.Replica.SQLDelay))
		}
	}
	s := fmt.Sprintf("%s [%s]", head, strings.Join(tags, ", "))
	p := t.primary
	top := n == p || !n.IsReplica()
	if top || p == nil || !p.Reachable() || p.Flavor.String() != n.Flavor.String() {
		s += " " + n.Flavor.String()
	}
	if top && !n.GTIDExecuted.IsEmpty() {
		s += " gtid " + n.GTIDExecuted.String()
	}
	if st := n.Replica; st != nil {
		s += fmt.Sprintf(" io %s sql %s", st.IOThread, st.SQLThread)
		if n.Source == nil {
			s += " (source " + n.SourceAddress() + " not found)"
		}
	}
	if ss := semiSyncText(n); ss != "" {
		s += "; " + ss
	}
	return s
}

// semiSyncText is "semi-sync primary: on, 2 clients" for a primary that
// waits for acknowledgements ("off" once a timeout made it asynchronous)
// and "semi-sync replica" for a replica whose receiver acknowledges
// ("inactive" while it does not); "" where both sides are turned off.
func semiSyncText(n *Node) string {
	st := n.SemiSync
	if st == nil {
		return ""
	}
	var parts []string
	if st.PrimaryEnabled {
		state := "off (asynchronous)"
		if st.PrimaryActive {
			state = "on"
		}
		clients := "clients"
		if st.Clients == 1 {
			clients = "client"
		}
		parts = append(parts, fmt.Sprintf("semi-sync primary: %s, %d %s", state, st.Clients, clients))
	}
	if st.ReplicaEnabled && n.IsReplica() {
		if st.ReplicaActive {
			parts = append(parts, "semi-sync replica")
		} else {
			parts = append(parts, "semi-sync replica: inactive")
		}
	}
	return strings.Join(parts, "; ")
}
