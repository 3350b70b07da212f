package topology

import (
	"fmt"
	"strings"
)

// FailoverLoss says what promoting n in place of the dead primary may lose
// of the writes the primary acknowledged, for a failover's report. The
// primary is gone, so its own semi-sync state cannot be read: what counts is
// the setting of the replicas that were draining it.
//
// With semi-sync on (wait point AFTER_SYNC), the primary acknowledged a
// commit only once a semi-sync replica had it in its relay log, so the most
// advanced replica after the drain has every acknowledged write, unless the
// primary had timed out to asynchronous replication before it died (its
// Rpl_semi_sync_master_status went OFF) — which a tree printed earlier
// shows, and nothing can check now. Without semi-sync nothing held the
// primary back: whatever it acknowledged after the promoted replica's
// position is lost, and the dead primary's binary log is the only copy.
func (t *Topology) FailoverLoss(n *Node) (semiSync bool, text string) {
	dead := t.primary
	deadName := "the old primary"
	if dead != nil {
		deadName = dead.Name
	}
	var semi []string
	for _, o := range t.nodes {
		if o == dead || !o.Reachable() || o.SemiSync == nil || !o.SemiSync.ReplicaEnabled {
			continue
		}
		if dead == nil || o.Source == dead || o == n {
			semi = append(semi, o.Name)
		}
	}
	if len(semi) > 0 {
		return true, fmt.Sprintf("semi-synchronous replication was on (%s): %s acknowledged a write only once "+
			"one of them had received it, and %s is the most advanced, so no acknowledged write is lost "+
			"(unless %s had timed out to asynchronous replication before it died)",
			strings.Join(semi, ", "), deadName, n.Name, deadName)
	}
	pos := "nothing"
	if !n.GTIDExecuted.IsEmpty() {
		pos = n.GTIDExecuted.String()
	}
	return false, fmt.Sprintf("replication was asynchronous: writes %s acknowledged after %s (%s's position) "+
		"may be lost; they can only be in %s's binary log", deadName, pos, n.Name, deadName)
}
