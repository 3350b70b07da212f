package topology

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Severity says whether a problem fails a health check (error) or is
// worth a look (warning).
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem kinds, stable names that scripts branch on.
const (
	KindUnreachable       = "unreachable"           // the server did not answer
	KindAuth              = "auth_failed"           // the server answered, and refused the tool's login
	KindIncomplete        = "incomplete"            // part of the state could not be read
	KindNoPrimary         = "no_primary"            // no server is the primary
	KindMultiplePrimaries = "multiple_primaries"    // several servers replicate from no one
	KindMultipleWritable  = "multiple_writable"     // more than one server has read_only OFF
	KindWritableReplica   = "writable_replica"      // a replica with read_only OFF
	KindSuperReadOnlyOff  = "super_read_only_off"   // MySQL replica whose SUPER accounts can write
	KindErrant            = "errant_transactions"   // transactions the primary does not have
	KindIOThread          = "io_thread_stopped"     // the receiver is not connected
	KindSQLThread         = "sql_thread_stopped"    // the applier is not running
	KindLag               = "lag"                   // too far behind its source
	KindServerIDClash     = "server_id_clash"       // two servers share a server_id
	KindServerUUIDClash   = "server_uuid_clash"     // two MySQL servers share a server_uuid
	KindOutside           = "outside_deployment"    // a server, or a replica's source, not in the deployment
	KindNotPromotable     = "not_promotable"        // no log_bin or log_slave_updates
	KindNotUnderPrimary   = "not_under_primary"     // a replica whose chain does not lead to the primary
	KindDetached          = "detached"              // replicates from no one, has no replicas
	KindLoop              = "replication_loop"      // servers replicating from each other
	KindClearText         = "replication_not_tls"   // repl_tls asked for, the replica does not verify its source over TLS
	KindPrimaryReadOnly   = "primary_read_only"     // the primary has read_only ON: nothing takes writes
	KindDelayed           = "delayed"               // a replica applying with MASTER_DELAY: never a candidate
	KindOptionFile        = "option_file_read_only" // the option file would change read_only at the next restart
)

// Problem is one finding: its severity, a stable kind, the server it is
// about (nil for the topology as a whole) and what an operator should do.
type Problem struct {
	Severity Severity
	Kind     string
	Node     *Node
	Message  string
}

func (p Problem) String() string {
	who := ""
	if p.Node != nil {
		who = " " + p.Node.Name
	}
	return fmt.Sprintf("%s%s: %s [%s]", p.Severity, who, p.Message, p.Kind)
}

// sortProblems puts errors first, then keeps the order of discovery.
func sortProblems(ps []Problem) []Problem {
	sort.SliceStable(ps, func(i, j int) bool {
		return ps[i].Severity == SeverityError && ps[j].Severity != SeverityError
	})
	return ps
}

type finder struct {
	t  *Topology
	ps []Problem
}

func (f *finder) add(sev Severity, kind string, n *Node, format string, args ...any) {
	f.ps = append(f.ps, Problem{Severity: sev, Kind: kind, Node: n, Message: fmt.Sprintf(format, args...)})
}

// analyze looks for every problem. Errant transactions need the primary's
// GTID state read after the replicas'; Discover arranges that.
func (t *Topology) analyze() []Problem {
	f := &finder{t: t}
	for _, n := range t.nodes {
		f.reachability(n)
		if n.Reachable() && n.IsReplica() {
			f.threads(n)
			f.tls(n)
			f.replicaSettings(n)
		}
	}
	f.primary()
	f.persisted()
	f.writable()
	f.clashes()
	f.placement()
	f.errant()
	return f.ps
}

func (f *finder) reachability(n *Node) {
	if !n.Reachable() {
		sev, hint := SeverityError, ""
		switch n.Via {
		case "processlist":
			sev = SeverityWarning
			hint = fmt.Sprintf(" (guessed from a binlog dump thread on %s: a binlog client, or a replica "+
				"on another port; set report_host and report_port on replicas)", n.Source.Name)
		case "replica hosts":
			hint = fmt.Sprintf(" (%s lists it as a replica)", n.Source.Name)
		}
		if server.AuthFailed(n.Err) {
			f.add(SeverityError, KindAuth, n, "refused the tool's login: %s; it is running: check the "+
				"deployment's user and password for it", errMessage(n.Err))
			return
		}
		f.add(sev, KindUnreachable, n, "cannot be reached: %s%s", errMessage(n.Err), hint)
		return
	}
	for _, err := range n.Partial {
		f.add(SeverityWarning, KindIncomplete, n, "part of its state could not be read: %s", errMessage(err))
	}
	if n.Outside {
		how := "given as a seed"
		if n.Via != "seed" {
			how = "found through " + n.Via
		}
		f.add(SeverityWarning, KindOutside, n, "is not in the deployment (%s); add it to the deployment file", how)
	}
}

// tls reports a replica that may replicate in clear text although the
// deployment asks for verified TLS: without MASTER_SSL_VERIFY_SERVER_CERT
// MariaDB falls back to clear text from a source without TLS.
func (f *finder) tls(n *Node) {
	if !f.t.opts.ReplicationTLS || n.Replica.SSLVerifyServerCert {
		return
	}
	f.add(SeverityError, KindClearText, n, "does not verify its source over TLS (Master_SSL_Allowed %s, "+
		"Master_SSL_Verify_Server_Cert No) although the deployment has repl_tls; point it again with "+
		"db:change_source(source), which uses repl_tls", n.Replica.SSLAllowed)
}

func (f *finder) threads(n *Node) {
	st := n.Replica
	src := n.SourceAddress()
	if n.Source != nil {
		src = n.Source.Name
	}
	if !st.IORunning {
		msg := fmt.Sprintf("the IO thread (receiver from %s) is %q", src, st.IOThread)
		if st.LastIOErrno != 0 {
			msg += fmt.Sprintf(": error %d: %s", st.LastIOErrno, st.LastIOError)
		} else if st.IOThread == "No" {
			msg += ": stopped; start it with db:start_replica()"
		}
		f.add(SeverityError, KindIOThread, n, "%s", msg)
	}
	if !st.SQLRunning {
		msg := fmt.Sprintf("the SQL thread (applier) is %q", st.SQLThread)
		if st.LastSQLErrno != 0 {
			msg += fmt.Sprintf(": error %d: %s", st.LastSQLErrno, st.LastSQLError)
		} else {
			msg += ": stopped; start it with db:start_replica()"
		}
		f.add(SeverityError, KindSQLThread, n, "%s", msg)
	}
	if st.SQLDelay > 0 {
		f.add(SeverityWarning, KindDelayed, n, "applies %d s behind on purpose (MASTER_DELAY): it is never "+
			"a promotion candidate, and procedures do not wait for it", st.SQLDelay)
	}
	// A delayed replica (SQL_Delay) lags on purpose; only the excess counts.
	if n.Lag != nil {
		lag := time.Duration(*n.Lag-st.SQLDelay) * time.Second
		if lag > f.t.opts.LagThreshold {
			f.add(SeverityWarning, KindLag, n, "is %ds behind %s (threshold %s)", *n.Lag, src, f.t.opts.LagThreshold)
		}
	}
}

func (f *finder) replicaSettings(n *Node) {
	if !n.ReadOnly && n != f.t.primary { // a co-primary, see KindLoop
		f.add(SeverityError, KindWritableReplica, n, "is a replica with read_only OFF: "+
			"clients can write to it and create errant transactions; db:set_read_only(true)")
	} else if n.SuperReadOnly != nil && !*n.SuperReadOnly {
		f.add(SeverityWarning, KindSuperReadOnlyOff, n, "has read_only ON but super_read_only OFF: "+
			"accounts with SUPER can still write to it")
	}
	if n.Outside {
		return
	}
	switch {
	case !n.LogBin:
		f.add(SeverityWarning, KindNotPromotable, n, "log_bin is OFF: it has no binary log, "+
			"so it cannot be promoted (no replica could follow it)")
	case !n.LogReplicaUpdates:
		f.add(SeverityWarning, KindNotPromotable, n, "log_slave_updates is OFF: its binary log lacks "+
			"what it replicates, so replicas moved under it would miss transactions; "+
			"it cannot be promoted safely")
	}
}

func (f *finder) primary() {
	if p := f.t.primary; p != nil {
		if p.Reachable() && p.ReadOnly {
			f.add(SeverityError, KindPrimaryReadOnly, p, "is the primary and has read_only ON: no server "+
				"takes writes; if a switchover was interrupted or its new primary died, run recover, which "+
				"unfences it when that is safe")
		}
		if inLoop(f.t.primary) {
			f.add(SeverityWarning, KindLoop, f.t.primary, "replicates from %s, which replicates from it "+
				"(co-primaries); it is taken as the primary because it alone is writable", f.t.primary.Source.Name)
		}
		return
	}
	if roots := primaries(f.t.nodes); len(roots) > 1 {
		f.add(SeverityError, KindMultiplePrimaries, nil, "%s replicate from no one and are writable "+
			"or have replicas: the topology is split; make all but one replicas of the other", names(roots))
		return
	}
	f.add(SeverityError, KindNoPrimary, nil, "no server is a primary: none answered that replicates "+
		"from no one and is writable or has replicas")
}

func (f *finder) writable() {
	var rw []*Node
	for _, n := range f.t.nodes {
		if n.Reachable() && !n.ReadOnly {
			rw = append(rw, n)
		}
	}
	if len(rw) > 1 {
		f.add(SeverityError, KindMultipleWritable, nil, "%s all have read_only OFF: writes to more than "+
			"one server diverge; set read_only on all but the primary", names(rw))
	}
}

// clashes finds servers that share a server_id (MySQL and MariaDB) or a
// server_uuid (MySQL). A replica ignores events that carry its own
// server_id, so two servers with one server_id in a topology silently
// skip each other's writes; MySQL refuses a second replica with the
// server_uuid of one already connected and keeps kicking them out.
func (f *finder) clashes() {
	byID := map[uint64][]*Node{}
	byUUID := map[string][]*Node{}
	for _, n := range f.t.nodes {
		if !n.Reachable() {
			continue
		}
		byID[n.ServerID] = append(byID[n.ServerID], n)
		if n.ServerUUID != "" {
			byUUID[n.ServerUUID] = append(byUUID[n.ServerUUID], n)
		}
	}
	for _, n := range f.t.nodes {
		if g := byID[n.ServerID]; len(g) > 1 && g[0] == n {
			f.add(SeverityError, KindServerIDClash, n, "%s share server_id %d: a server skips events "+
				"that carry its own server_id, so they lose each other's writes; give each a unique server_id",
				names(g), n.ServerID)
		}
		if g := byUUID[n.ServerUUID]; len(g) > 1 && g[0] == n {
			f.add(SeverityError, KindServerUUIDClash, n, "%s share server_uuid %s (a copied datadir): "+
				"delete auto.cnf on all but one and restart them", names(g), n.ServerUUID)
		}
	}
}

// placement finds servers that are not where a healthy topology has them:
// replicas whose chain of sources does not reach the primary, replicas of
// servers outside the deployment, servers that neither replicate nor have
// replicas.
func (f *finder) placement() {
	p := f.t.primary
	for _, n := range f.t.nodes {
		if !n.Reachable() || n == p {
			continue
		}
		if n.IsReplica() && n.Source != nil && n.Source.Outside && !n.Outside {
			f.add(SeverityWarning, KindOutside, n, "replicates from %s, which is not in the deployment", n.Source.Name)
		}
		if p == nil || n.Outside {
			continue
		}
		switch {
		case n.IsReplica() && depthUnder(n, p) == 0:
			f.add(SeverityError, KindNotUnderPrimary, n, "replicates from %s, which does not lead to the "+
				"primary %s: it does not get the primary's writes", n.SourceAddress(), p.Name)
		case !n.IsReplica() && n.Role == RoleUnknown:
			f.add(SeverityWarning, KindDetached, n, "replicates from no one and has no replicas: "+
				"make it a replica of %s (an old primary may need rejoin)", p.Name)
		}
	}
}

func names(nodes []*Node) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = n.Name
	}
	if len(s) == 2 {
		return s[0] + " and " + s[1]
	}
	return strings.Join(s, ", ")
}

// persisted compares each server's option file with its part: a replica
// whose file does not say read-only comes back writable after a restart
// (two writable servers), a primary whose file says read-only comes back
// refusing writes. Only servers whose file the caller can read count
// (Options.OptionReadOnly).
func (f *finder) persisted() {
	read := f.t.opts.OptionReadOnly
	p := f.t.primary
	if read == nil || p == nil {
		return
	}
	for _, n := range f.t.nodes {
		if !n.Reachable() || n.Outside {
			continue
		}
		on, known := read(n)
		switch {
		case !known:
		case n == p && on:
			f.add(SeverityError, KindOptionFile, n, "is the primary but its option file says read-only = 1: "+
				"a restart would leave no server taking writes; set read-only = 0 there (db:config())")
		case n != p && n.IsReplica() && !on:
			f.add(SeverityError, KindOptionFile, n, "is a replica but its option file does not say "+
				"read-only = 1: a restart would make it writable; set read-only = 1 there (db:config())")
		}
	}
}
