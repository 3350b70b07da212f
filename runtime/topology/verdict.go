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
	// "promote" (make Node, a server ahead of the fenced primary, the new
	// primary, and put every other reachable server under it), or "" when
	// recover must not act (Reason says why and what to do).
	Action string
	Node   *Node
	Reason string
	// Gone are the deployment's servers that do not answer and that no
	// replica reaches: dead, by the same rule as a dead primary.
	Gone []*Node
}

// Recovery decides how an outage with no writable server ends. The
// fenced primary may simply take writes again when no reachable server
// has a transaction it lacks. A server that has one got it from the
// candidate that died after taking writes: unfencing the old primary then
// would fork the history, so the way out is to promote the server that
// has everything (see promoteAhead).
func (t *Topology) Recovery() Recovery { return t.RecoveryOf(nil) }

// RecoveryOf is Recovery for a fenced primary the operator names: after
// a switchover whose new primary died once other servers followed it,
// the tree's primary is that dead candidate and the old primary, fenced,
// replicates from no one, like a spare that was detached on purpose. Only
// the switchover's report can tell the two apart, so recover is told
// (--fenced NAME) instead of guessing; unnamed, Recovery names the
// read-only servers that could be it and says how to go on.
func (t *Topology) RecoveryOf(fenced *Node) Recovery {
	p := t.primary
	if fenced != nil {
		if r, ok := t.checkFenced(fenced); !ok {
			return r
		}
		p = fenced
	}
	switch {
	case p == nil:
		return Recovery{Reason: "no primary was found; see run check"}
	case !p.Reachable():
		if roots := t.readOnlyRoots(); len(roots) > 0 {
			return Recovery{Node: p, Reason: fmt.Sprintf("%s does not answer, and read-only servers "+
				"replicate from no one (%s): if one of them is the primary a switchover fenced before %s died "+
				"(the switchover's report names it), run recover -- --fenced NAME; otherwise run failover "+
				"(it leaves them as they are)", p.Name, names(roots), p.Name)}
		}
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
		return t.promoteAhead(p, strings.Join(ahead, "; "))
	}
	// Nothing reachable is ahead, but a server the tool cannot reach may
	// still run and take writes (the candidate, writable since its
	// promotion): unfencing p would then make two writable primaries.
	if why := t.goneMayRun(); why != "" {
		return Recovery{Node: p, Reason: fmt.Sprintf("%s is read-only and no reachable server has a "+
			"transaction it lacks, but %s", p.Name, why)}
	}
	return Recovery{Action: "unfence", Node: p, Gone: t.gone(), Reason: fmt.Sprintf("%s is read-only and no reachable server "+
		"has a transaction it lacks: it may take writes again", p.Name)}
}

// promoteAhead decides the recovery when servers are ahead of the fenced
// primary p: promote the one reachable server that has every transaction
// any reachable server has, provided the servers that do not answer are
// dead by the rule of PrimaryVerdict (no answer, no replica's receiver
// connected to them or refused by them). Otherwise the extra
// transactions were made elsewhere (errant), or a server that may still
// take writes is only out of the tool's reach, or the histories forked:
// recover refuses, saying which.
func (t *Topology) promoteAhead(p *Node, ahead string) Recovery {
	refuse := func(why string) Recovery {
		return Recovery{Node: p, Reason: fmt.Sprintf("%s is read-only, but %s that %s lacks; %s",
			p.Name, ahead, p.Name, why)}
	}
	gone, reachable := t.gone(), t.reachable()
	if len(gone) == 0 {
		return refuse("every deployment server answers, so those writes were made elsewhere (errant): " +
			"check them (run check) and rebuild or relocate by hand")
	}
	if why := t.goneMayRun(); why != "" {
		return refuse(why)
	}
	var best *Node
	for _, n := range reachable {
		if !n.LogBin || (n.Replica != nil && n.Replica.SQLDelay > 0) {
			continue
		}
		all := true
		for _, o := range reachable {
			if has, err := n.GTIDExecuted.Contains(o.GTIDExecuted); err != nil || !has {
				all = false
				break
			}
		}
		if all && (best == nil || (best == p && n != p)) {
			best = n
		}
	}
	if best == nil || best == p {
		return refuse("no reachable server with a binary log has every transaction the others have " +
			"(their histories differ): compare them (run check) and rebuild the ones that diverged")
	}
	return Recovery{Action: "promote", Node: best, Gone: gone, Reason: fmt.Sprintf("%s is read-only, but %s "+
		"that %s lacks, and %s does not answer and no replica reaches it: %s has every transaction a "+
		"reachable server has, and becomes the primary", p.Name, ahead, p.Name, names(gone), best.Name)}
}

// gone are the deployment's servers that do not answer; reachable the
// ones that do.
func (t *Topology) gone() []*Node {
	var out []*Node
	for _, n := range t.nodes {
		if !n.Outside && !n.Reachable() {
			out = append(out, n)
		}
	}
	return out
}

func (t *Topology) reachable() []*Node {
	var out []*Node
	for _, n := range t.nodes {
		if !n.Outside && n.Reachable() {
			out = append(out, n)
		}
	}
	return out
}

// goneMayRun says why a server that does not answer the tool may still
// run and take writes, by the rule of a dead primary: it answered with
// an error, or a replica's receiver still reaches it. "" when every
// server that does not answer is dead by that rule.
func (t *Topology) goneMayRun() string {
	for _, g := range t.gone() {
		if serverAnswered(g.Err) {
			return fmt.Sprintf("%s answers with an error (%s): it runs and may take writes; fix "+
				"the tool's access to it or stop it, then retry", g.Name, errMessage(g.Err))
		}
		for _, r := range t.reachable() {
			if r.Source != g || r.Replica == nil {
				continue
			}
			if r.Replica.IORunning || (r.Replica.LastIOErrno > 0 && r.Replica.LastIOErrno < 2000) {
				return fmt.Sprintf("the tool cannot reach %s, but the receiver of %s reaches it: "+
					"it runs and may take writes; stop it, then retry", g.Name, r.Name)
			}
		}
	}
	return ""
}

// readOnlyRoots are the reachable deployment servers that are read-only
// and replicate from no one: spares, or a primary a switchover fenced.
func (t *Topology) readOnlyRoots() []*Node {
	var out []*Node
	for _, n := range t.reachable() {
		if n.Source == nil && n.Replica == nil && n.ReadOnly {
			out = append(out, n)
		}
	}
	return out
}

// checkFenced refuses a server named as the fenced primary that cannot
// be one: it does not answer, takes writes, or replicates from a server
// that answers (then it is a replica, and the tree's primary is not
// dead).
func (t *Topology) checkFenced(n *Node) (Recovery, bool) {
	switch {
	case !n.Reachable():
		return Recovery{Node: n, Reason: fmt.Sprintf("--fenced %s: it does not answer", n.Name)}, false
	case !n.ReadOnly:
		return Recovery{Node: n, Reason: fmt.Sprintf("--fenced %s: it takes writes: nothing to recover", n.Name)}, false
	case n.Source != nil && n.Source.Reachable() && n.Replica != nil && n.Replica.IORunning:
		return Recovery{Node: n, Reason: fmt.Sprintf("--fenced %s: it replicates from %s, which answers: "+
			"it is a replica, not a fenced primary (run check)", n.Name, n.Source.Name)}, false
	}
	return Recovery{}, true
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
