package topology

import (
	"fmt"
	"sort"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/deploy"
)

// CandidateOptions say how to rank servers for promotion.
type CandidateOptions struct {
	// Promotion returns a server's rule (deploy.PromotionPrefer, ...); ""
	// is neutral. nil: every server is neutral.
	Promotion func(*Node) string
	// MaxLag excludes replicas known to lag more; 0: no bound. Unknown lag
	// (NULL, as after the primary died) does not exclude.
	MaxLag time.Duration
}

// Candidate is a server ranked for promotion, with the reasons for its
// place or its exclusion.
type Candidate struct {
	Node     *Node
	Rank     int // 1 is the best; 0 when excluded
	Excluded bool
	Reasons  []string
}

// Candidates ranks every server but the primary for promotion, best
// first, excluded ones last. Excluded, each with its reason: unreachable,
// outside the deployment, promotion rule must_not, not under the primary,
// errant transactions, no binary log or no log_slave_updates, a delayed
// applier (MASTER_DELAY), replication not running (the receiver only
// counts while the primary answers: a failover stops it on purpose), lag
// over MaxLag, and GTIDs the best candidate lacks (diverged). The others
// are ordered by, in turn:
//  1. GTID position: a server whose executed set contains another's
//     ranks above it (fewest servers ahead of it first, then most servers
//     behind it): promoting a server behind another loses what the other
//     has;
//  2. semi-sync: among equally advanced servers, a semi-sync replica
//     (its receiver acknowledges, or, once the primary is gone, it was
//     set to) first: with semi-sync on, the primary committed nothing that
//     no such replica had received;
//  3. promotion rule: prefer, neutral, prefer_not;
//  4. distance from the primary: direct replicas before replicas of
//     relays, which would need to be moved first;
//  5. lower lag;
//  6. newer server version first (replicas of an older primary are fine,
//     the reverse is not supported by MySQL or MariaDB);
//  7. name.
func (t *Topology) Candidates(opts CandidateOptions) []Candidate {
	var ok, out []Candidate
	for _, n := range t.nodes {
		if n == t.primary {
			continue
		}
		c := Candidate{Node: n}
		if why := t.exclusions(n, opts); len(why) > 0 {
			c.Excluded, c.Reasons = true, why
			out = append(out, c)
			continue
		}
		ok = append(ok, c)
	}
	keys := t.rankKeys(ok, opts)
	sort.SliceStable(ok, func(i, j int) bool { return keys[ok[i].Node].less(keys[ok[j].Node]) })
	ok, diverged := splitDiverged(ok)
	out = append(out, diverged...)
	for i := range ok {
		ok[i].Rank = i + 1
		ok[i].Reasons = keys[ok[i].Node].reasons
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Node.Name < out[j].Node.Name })
	return append(ok, out...)
}

func rule(n *Node, opts CandidateOptions) string {
	if opts.Promotion == nil {
		return deploy.PromotionNeutral
	}
	if r := opts.Promotion(n); r != "" {
		return r
	}
	return deploy.PromotionNeutral
}

func (t *Topology) exclusions(n *Node, opts CandidateOptions) []string {
	var why []string
	add := func(format string, args ...any) { why = append(why, fmt.Sprintf(format, args...)) }
	if !n.Reachable() {
		add("unreachable: %s", errMessage(n.Err))
		return why
	}
	if n.Outside {
		add("not in the deployment")
	}
	if rule(n, opts) == deploy.PromotionMustNot {
		add("promotion rule must_not")
	}
	if t.primary != nil && depthUnder(n, t.primary) == 0 {
		add("does not replicate from the primary %s", t.primary.Name)
	}
	if n.Errant != "" {
		add("errant transactions %s", n.Errant)
	}
	if !n.LogBin {
		add("log_bin is OFF: no replica could follow it")
	} else if !n.LogReplicaUpdates {
		add("log_slave_updates is OFF: its binary log lacks what it replicated, so the others could not follow it")
	}
	if st := n.Replica; st != nil {
		if st.SQLDelay > 0 {
			add("delayed %d s (MASTER_DELAY): its data is old on purpose", st.SQLDelay)
		}
		primaryAnswers := t.primary != nil && t.primary.Reachable()
		switch {
		case st.LastSQLErrno != 0:
			add("its SQL thread failed: error %d: %s", st.LastSQLErrno, st.LastSQLError)
		case !st.SQLRunning || (primaryAnswers && !st.IORunning):
			add("replication is not running (io %s, sql %s)", st.IOThread, st.SQLThread)
		}
	}
	if opts.MaxLag > 0 && n.Lag != nil && time.Duration(*n.Lag)*time.Second > opts.MaxLag {
		add("lag %ds is over max_lag %s", *n.Lag, opts.MaxLag)
	}
	return why
}

// rankKey is what a candidate is sorted by, and why.
type rankKey struct {
	depth, rule   int
	behind, ahead int // how many candidates strictly contain its GTIDs / it strictly contains
	semiSync      bool
	noLogUpdates  bool
	major, minor  int
	patch         int
	lag           int64 // -1 unknown, sorted last
	name          string
	reasons       []string
}

func (a rankKey) less(b rankKey) bool {
	switch {
	case a.behind != b.behind:
		return a.behind < b.behind
	case a.ahead != b.ahead:
		return a.ahead > b.ahead
	case a.semiSync != b.semiSync:
		return a.semiSync
	case a.rule != b.rule:
		return a.rule < b.rule
	case a.depth != b.depth:
		return a.depth < b.depth
	case (a.lag < 0) != (b.lag < 0):
		return a.lag >= 0
	case a.lag != b.lag:
		return a.lag < b.lag
	case a.major != b.major:
		return a.major > b.major
	case a.minor != b.minor:
		return a.minor > b.minor
	case a.patch != b.patch:
		return a.patch > b.patch
	}
	return a.name < b.name
}

// splitDiverged moves out of the ranked list every candidate whose GTIDs
// the best one lacks: promoting the best would lose them, promoting it
// would lose the best's. Such a server has diverged (or its GTIDs could
// not be compared), and needs an operator.
func splitDiverged(ranked []Candidate) (ok, diverged []Candidate) {
	if len(ranked) == 0 {
		return ranked, nil
	}
	best := ranked[0].Node
	ok = ranked[:1]
	for _, c := range ranked[1:] {
		if has, err := best.GTIDExecuted.Contains(c.Node.GTIDExecuted); err == nil && has {
			ok = append(ok, c)
			continue
		}
		extra, _ := c.Node.GTIDExecuted.Subtract(best.GTIDExecuted)
		c.Excluded, c.Rank = true, 0
		c.Reasons = []string{fmt.Sprintf("diverged from %s, the most advanced: has %s, which %s lacks",
			best.Name, extra, best.Name)}
		diverged = append(diverged, c)
	}
	for i := range ok {
		ok[i].Rank = i + 1
	}
	return ok, diverged
}

var ruleOrder = map[string]int{deploy.PromotionPrefer: 0, deploy.PromotionNeutral: 1, deploy.PromotionPreferNot: 2}

func (t *Topology) rankKeys(cs []Candidate, opts CandidateOptions) map[*Node]rankKey {
	keys := map[*Node]rankKey{}
	for _, c := range cs {
		n := c.Node
		k := rankKey{rule: ruleOrder[rule(n, opts)], noLogUpdates: !n.LogReplicaUpdates, lag: -1, name: n.Name,
			major: n.Flavor.Major, minor: n.Flavor.Minor, patch: n.Flavor.Patch}
		if n.Lag != nil {
			k.lag = *n.Lag
		}
		k.reasons = append(k.reasons, t.placeReason(n, &k))
		k.reasons = append(k.reasons, "promotion rule "+rule(n, opts))
		k.reasons = append(k.reasons, gtidReasons(n, cs, &k)...)
		if k.semiSync = t.semiSyncReplica(n); k.semiSync {
			k.reasons = append(k.reasons, "semi-sync replica: acknowledged the primary's last transactions")
		}
		if n.LogReplicaUpdates {
			k.reasons = append(k.reasons, "log_slave_updates ON")
		} else {
			k.reasons = append(k.reasons, "log_slave_updates OFF: its binary log lacks what it replicated")
		}
		k.reasons = append(k.reasons, "version "+n.Flavor.String())
		if n.Lag != nil {
			k.reasons = append(k.reasons, fmt.Sprintf("lag %ds", *n.Lag))
		}
		keys[n] = k
	}
	return keys
}

// semiSyncReplica: the receiver runs a semi-sync connection
// (Rpl_semi_sync_slave_status) while the primary answers; once the primary
// is dead the receiver has stopped and the status with it, so the setting
// stands in.
func (t *Topology) semiSyncReplica(n *Node) bool {
	st := n.SemiSync
	if st == nil || !st.ReplicaEnabled {
		return false
	}
	if t.primary != nil && t.primary.Reachable() {
		return st.ReplicaActive
	}
	return true
}

func (t *Topology) placeReason(n *Node, k *rankKey) string {
	if t.primary == nil {
		return "no primary known"
	}
	k.depth = depthUnder(n, t.primary)
	if k.depth == 1 {
		return "replicates from the primary " + t.primary.Name
	}
	return fmt.Sprintf("replicates from %s, %d levels under the primary: move it under %s first",
		n.Source.Name, k.depth, t.primary.Name)
}

// gtidReasons compares n's executed GTIDs with every other candidate's.
// Sets that neither contains (diverged, or not comparable) count neither
// way.
func gtidReasons(n *Node, cs []Candidate, k *rankKey) []string {
	var ahead, behind, same []*Node
	for _, c := range cs {
		o := c.Node
		if o == n {
			continue
		}
		mine, _ := n.GTIDExecuted.Contains(o.GTIDExecuted)
		theirs, _ := o.GTIDExecuted.Contains(n.GTIDExecuted)
		switch {
		case mine && theirs:
			same = append(same, o)
		case mine:
			ahead = append(ahead, o)
		case theirs:
			behind = append(behind, o)
		}
	}
	k.behind, k.ahead = len(behind), len(ahead)
	var out []string
	if len(behind) > 0 {
		out = append(out, fmt.Sprintf("gtid %s is behind %s", n.GTIDExecuted, names(behind)))
	}
	if len(ahead) > 0 {
		out = append(out, fmt.Sprintf("gtid %s is ahead of %s", n.GTIDExecuted, names(ahead)))
	}
	if len(same) > 0 {
		out = append(out, fmt.Sprintf("gtid %s, the same as %s", n.GTIDExecuted, names(same)))
	}
	return out
}
