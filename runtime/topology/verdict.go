package topology

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// PrimaryState is what a procedure may assume about the primary.
type PrimaryState string

const (
	// PrimaryAlive: the tool reads it.
	PrimaryAlive PrimaryState = "alive"
	// PrimaryDead: the tool cannot reach it, and neither can any of its
	// replicas: no receiver is connected to it, and none was refused by it.
	PrimaryDead PrimaryState = "dead"
	// PrimaryUnreachable: the tool cannot reach it, but something says it
	// is running: it answered the tool with an error (a wrong password, too
	// many connections), or a replica's receiver is connected to it. A
	// failover now would leave two writable primaries.
	PrimaryUnreachable PrimaryState = "unreachable"
	// PrimaryNone: no primary was found (no_primary, multiple_primaries).
	PrimaryNone PrimaryState = "none"
)

// PrimaryVerdict is the answer to "is the primary dead?", with the
// evidence. Connected lists the replicas whose receiver is connected to it.
type PrimaryVerdict struct {
	State     PrimaryState
	Primary   *Node
	Reason    string
	Connected []*Node
}

// PrimaryVerdict decides whether the primary is dead the way its replicas
// see it, not only the tool (orchestrator's "holistic" rule): the tool's
// own path to it may be what failed (a rotated password, max_connections
// reached, a firewall between the tool and the primary). Dead means the
// tool gets no answer at all (refused, reset, timed out) and no reachable
// replica's receiver is connected to it or was last refused by it with a
// server error.
//
// A receiver that is connected shows Slave_IO_Running "Yes". MariaDB keeps
// no time of the last heartbeat, so a receiver of a hung primary stays
// "Yes" until slave_net_timeout: that too is refused here (not dead).
func (t *Topology) PrimaryVerdict() PrimaryVerdict {
	p := t.primary
	if p == nil {
		why := "no primary was found"
		for _, pr := range t.problems {
			if pr.Kind == KindNoPrimary || pr.Kind == KindMultiplePrimaries {
				why = pr.Message
			}
		}
		return PrimaryVerdict{State: PrimaryNone, Reason: why}
	}
	v := PrimaryVerdict{Primary: p}
	if p.Reachable() {
		v.State, v.Reason = PrimaryAlive, "it answers"
		return v
	}
	var refusedBy []string
	for _, r := range p.Replicas {
		if !r.Reachable() || r.Replica == nil {
			continue
		}
		if r.Replica.IORunning {
			v.Connected = append(v.Connected, r)
		} else if code := r.Replica.LastIOErrno; code > 0 && code < 2000 {
			// Client errors are 2000 and above (2003 cannot connect, 2013
			// lost connection); below that the source itself answered.
			refusedBy = append(refusedBy, fmt.Sprintf("%s (its source answered with error %d)", r.Name, code))
		}
	}
	switch {
	case serverAnswered(p.Err):
		v.State = PrimaryUnreachable
		v.Reason = fmt.Sprintf("it answers, with an error: %s; it is running, so it is not dead: fix the tool's "+
			"access (password, max_connections), or stop it, then retry", errMessage(p.Err))
	case len(v.Connected) > 0:
		v.State = PrimaryUnreachable
		v.Reason = fmt.Sprintf("the tool cannot reach it (%s), but the receiver of %s is connected to it: "+
			"it is running and may take writes; check the tool's network path to it, or stop it, then retry",
			errMessage(p.Err), names(v.Connected))
	case len(refusedBy) > 0:
		v.State = PrimaryUnreachable
		v.Reason = fmt.Sprintf("the tool cannot reach it (%s), but it answered %s: it is running",
			errMessage(p.Err), strings.Join(refusedBy, ", "))
	default:
		v.State = PrimaryDead
		v.Reason = fmt.Sprintf("it does not answer (%s) and no replica's receiver is connected to it", errMessage(p.Err))
	}
	return v
}

// serverAnswered reports whether err carries an error the server sent
// (an error packet with a code): the server is running, whatever the tool
// could do with it.
func serverAnswered(err error) bool {
	var se *server.Error
	if errors.As(err, &se) && se.Code > 0 && se.Code < 2000 {
		return true
	}
	return false
}

// Bystander is a server a procedure repoints without choosing it: a
// replica of the primary other than the candidate. Problems is what stops
// the procedure in preflight; Skipped says the operator named it to be
// left as it is.
type Bystander struct {
	Node     *Node
	Problems []string
	Skipped  bool
}

// Bystanders checks, before anything changes, every server of the
// deployment a switchover would repoint: each must answer, replicate from
// the primary (or the candidate) with both threads running, have no errant
// transactions and be read-only. A deployment server that does not answer
// cannot be told apart from a replica of the primary, so it is a bystander
// with a problem too. Servers that replicate from neither (a relay's
// replicas, a detached spare) are not touched and not listed.
func (t *Topology) Bystanders(primary, candidate *Node, skip func(*Node) bool) []Bystander {
	var out []Bystander
	for _, n := range t.nodes {
		if n == primary || n == candidate || n.Outside {
			continue
		}
		if n.Reachable() && (n.Source == nil || (n.Source != primary && n.Source != candidate)) {
			continue
		}
		b := Bystander{Node: n, Skipped: skip != nil && skip(n)}
		b.Problems = bystanderProblems(n)
		out = append(out, b)
	}
	return out
}

func bystanderProblems(n *Node) []string {
	if !n.Reachable() {
		return []string{"unreachable: " + errMessage(n.Err)}
	}
	var why []string
	st := n.Replica
	if !st.IORunning || !st.SQLRunning {
		msg := fmt.Sprintf("replication is not running (io %s, sql %s)", st.IOThread, st.SQLThread)
		if st.LastSQLErrno != 0 {
			msg += fmt.Sprintf(": error %d: %s", st.LastSQLErrno, st.LastSQLError)
		} else if st.LastIOErrno != 0 {
			msg += fmt.Sprintf(": error %d: %s", st.LastIOErrno, st.LastIOError)
		}
		why = append(why, msg)
	}
	if n.Errant != "" {
		why = append(why, "errant transactions "+n.Errant)
	}
	if !n.ReadOnly {
		why = append(why, "writable (read_only OFF): clients may write to it")
	}
	return why
}

// Errant compares n with ref as if ref were n's primary, after reading
// ref's GTID state again (whatever n got from ref, ref had by then). It
// returns the errant GTIDs and why each is errant; none when n could
// follow ref. Rejoin and relocate ask it about a server and its next
// source.
func (t *Topology) Errant(ctx context.Context, n, ref *Node) (gtids, why []string, err error) {
	if !n.Reachable() || !ref.Reachable() {
		return nil, nil, fmt.Errorf("errant: %s or %s did not answer", n.Name, ref.Name)
	}
	if n.Flavor.Kind != ref.Flavor.Kind {
		return nil, nil, fmt.Errorf("errant: %s is %s and %s is %s", n.Name, n.Flavor, ref.Name, ref.Flavor)
	}
	rctx, cancel := context.WithTimeout(ctx, t.opts.ServerTimeout)
	defer cancel()
	if err := readGTIDs(rctx, ref); err != nil {
		return nil, nil, err
	}
	if n.Flavor.IsMariaDB() {
		gtids, why = mariadbErrant(n, ref)
	} else {
		gtids, why = mysqlErrant(n, ref)
	}
	return gtids, why, nil
}

// Recovery is what ends an outage in which no server takes writes: the
// primary answers but is read-only (a switchover fenced it, then its new
// primary died or the promotion was interrupted), and no reachable server
// is writable.
type Recovery struct {
	// Action is "unfence" (make Node, the fenced primary, writable again),
	// or "" when recover must not act (Reason says why and what to do).
	Action string
	Node   *Node
	Reason string
}

// Recovery decides whether the fenced primary may simply take writes
// again: only when no reachable server has a transaction it lacks. A
// server that has one got it from the candidate that died after taking
// writes (or has errant transactions): unfencing the old primary then
// would fork the history, so the way out is a failover from that server,
// which an operator decides.
func (t *Topology) Recovery() Recovery {
	p := t.primary
	switch {
	case p == nil:
		return Recovery{Reason: "no primary was found; see run check"}
	case !p.Reachable():
		return Recovery{Node: p, Reason: fmt.Sprintf("%s does not answer: run failover", p.Name)}
	case !p.ReadOnly:
		return Recovery{Node: p, Reason: fmt.Sprintf("%s takes writes: nothing to recover", p.Name)}
	}
	var ahead []string
	for _, n := range t.nodes {
		if n == p || !n.Reachable() || n.Outside {
			continue
		}
		if !n.ReadOnly {
			return Recovery{Node: n, Reason: fmt.Sprintf("%s takes writes: nothing to recover (run check)", n.Name)}
		}
		has, err := p.GTIDExecuted.Contains(n.GTIDExecuted)
		if err != nil || !has {
			extra, _ := n.GTIDExecuted.Subtract(p.GTIDExecuted)
			ahead = append(ahead, fmt.Sprintf("%s has %s", n.Name, extra))
		}
	}
	if len(ahead) > 0 {
		return Recovery{Node: p, Reason: fmt.Sprintf("%s is read-only, but %s that %s lacks: writes reached "+
			"a server that is gone, or were made elsewhere; fail over to the most advanced of them by hand "+
			"(db:set_read_only(false) on it, then relocate the others below it), or rebuild them",
			p.Name, strings.Join(ahead, "; "), p.Name)}
	}
	return Recovery{Action: "unfence", Node: p, Reason: fmt.Sprintf("%s is read-only and no reachable server "+
		"has a transaction it lacks: it may take writes again", p.Name)}
}

// KindFallingBehind: a replica whose lag grew between two discoveries.
const KindFallingBehind = "falling_behind"

// FallingBehind compares t with an earlier discovery of the same servers:
// a replica whose lag grew by at least a second, to 2 s or more, has an
// applier that does not keep up with
// the writes. A switchover to it would wait for ever to get close, and a
// failover would lose more with every second. Warnings, one per replica.
func (t *Topology) FallingBehind(earlier *Topology) []Problem {
	var out []Problem
	for _, n := range t.nodes {
		if !n.Reachable() || n.Lag == nil || n.Replica == nil || n.Replica.SQLDelay > 0 {
			continue
		}
		e := earlier.Node(n.Name)
		if e == nil || !e.Reachable() || e.Lag == nil {
			continue
		}
		// Seconds_Behind_Master is whole seconds and a busy replica's moves
		// 0 → 1 → 0: a second more counts only from 2 s on.
		if *n.Lag >= *e.Lag+1 && *n.Lag >= 2 {
			out = append(out, Problem{Severity: SeverityWarning, Kind: KindFallingBehind, Node: n,
				Message: fmt.Sprintf("its lag grew from %ds to %ds between two looks: its applier does not keep up "+
					"with the writes (more parallel replication threads, or fewer writes, before a switchover to it)",
					*e.Lag, *n.Lag)})
		}
	}
	return out
}
