package topology

import (
	"errors"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
)

// differs decides when a refresh no longer stands for a discovery.
func TestRefreshDiffers(t *testing.T) {
	on, off := true, false
	replica := func(host string, port int) *flavor.ReplicaStatus {
		return &flavor.ReplicaStatus{SourceHost: host, SourcePort: port, IORunning: true, SQLRunning: true}
	}
	base := Node{ServerID: 2, ReadOnly: true, Replica: replica("db1.example", 3306)}
	down := errors.New("connection refused")
	for _, c := range []struct {
		name string
		edit func(n *Node)
		want bool
	}{
		{"the same", func(n *Node) {}, false},
		{"new heartbeats, lag, threads", func(n *Node) {
			r := *n.Replica
			r.ReceivedHeartbeats, r.IORunning = 9, false
			n.Replica = &r
		}, false},
		{"source named in another case", func(n *Node) { n.Replica = replica("DB1.example", 3306) }, false},
		{"gone", func(n *Node) { n.Err = down }, true},
		{"read failed", func(n *Node) { n.Partial = []error{down} }, true},
		{"another server_id", func(n *Node) { n.ServerID = 7 }, true},
		{"writable", func(n *Node) { n.ReadOnly = false }, true},
		{"super_read_only appears", func(n *Node) { n.SuperReadOnly = &on }, true},
		{"no longer a replica", func(n *Node) { n.Replica = nil }, true},
		{"another source", func(n *Node) { n.Replica = replica("10.0.0.3", 3306) }, true},
		{"another source port", func(n *Node) { n.Replica = replica("db1.example", 3307) }, true},
	} {
		n := base
		c.edit(&n)
		if got := differs(&base, &n); got != c.want {
			t.Errorf("%s: differs %v, want %v", c.name, got, c.want)
		}
	}
	was := Node{SuperReadOnly: &on}
	if now := (Node{SuperReadOnly: &off}); !differs(&was, &now) {
		t.Error("super_read_only turned off: not a change")
	}
	gone := Node{Err: down}
	if still := (Node{Err: errors.New("timeout")}); differs(&gone, &still) {
		t.Error("a server down at both looks: a change")
	}
}
