package coord

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Failover is the last automatic failover of a cluster, shared by its
// watchers so that a standby that takes over honours the anti-flap
// block and sees a failover that never ended.
type Failover struct {
	At      time.Time `json:"at"`
	Verdict string    `json:"verdict"` // dead_primary, hung_primary
	From    string    `json:"from"`    // the failed primary
	To      string    `json:"to,omitempty"`
	// Outcome is "running" from the moment the failover starts until it
	// ends ("done", "failed"): a record left "running" is a watcher that
	// died in the middle.
	Outcome      string    `json:"outcome"`
	Error        string    `json:"error,omitempty"`
	BlockedUntil time.Time `json:"blocked_until"`
	By           Holder    `json:"by"`
	// Cleared: an operator cleared the block.
	Cleared bool `json:"cleared,omitempty"`
}

// PutFailover records a cluster's last failover.
func (e *Etcd) PutFailover(ctx context.Context, cluster string, f Failover) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if _, err := e.cli.Put(ctx, e.clusterKey(cluster, "last_failover"), string(b)); err != nil {
		return e.noQuorum(err)
	}
	return nil
}

// LastFailover reads a cluster's last failover; ok is false when none
// was recorded.
func (e *Etcd) LastFailover(ctx context.Context, cluster string) (f Failover, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := e.cli.Get(ctx, e.clusterKey(cluster, "last_failover"))
	if err != nil {
		return f, false, e.noQuorum(err)
	}
	if len(resp.Kvs) == 0 {
		return f, false, nil
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &f); err != nil {
		return f, false, fmt.Errorf("coordinator: %s: %w", resp.Kvs[0].Key, err)
	}
	return f, true, nil
}
