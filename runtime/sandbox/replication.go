package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/roles"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// connectRetry is how soon a replica reconnects to a lost primary: a
// second, instead of MariaDB's 60, so that a replica whose primary a test
// restarted is back at once.
const connectRetry = time.Second

// heartbeat is how often an idle primary tells its replicas it is alive:
// a watcher tells a hung primary from an idle one by these.
const heartbeat = time.Second

// tool connects to an instance as the tool's own account over TCP, the
// way a playbook would.
func (s *Sandbox) tool(in Instance) (*server.Server, error) {
	cfg, err := s.ServerConfig(in)
	if err != nil {
		return nil, err
	}
	return server.New(cfg)
}

// wire gives the primary the master role (binary log on, the replication
// account) and makes every replica follow it by GTID: the same role code
// `imbue` uses, so the sandbox is built the way playbooks build servers.
// The servers already run with the options the roles want, so nothing
// restarts. With TLS the replicas reach the primary over TLS, its
// certificate verified against the sandbox's CA and 127.0.0.1.
func (s *Sandbox) wire(ctx context.Context) error {
	pw, err := s.ReplUser.Password()
	if err != nil {
		return err
	}
	repl := roles.Credentials{User: s.ReplUser.Name, Password: pw}
	primary, err := s.tool(s.Primary())
	if err != nil {
		return err
	}
	defer primary.Close()
	m, err := s.Machine(s.Primary().Name)
	if err != nil {
		return err
	}
	target := roles.Target{Server: primary, Machine: m, OptionFile: s.Primary().DefaultsFile}
	if _, err := roles.Imbue(ctx, target, roles.Master{Repl: repl}); err != nil {
		return err
	}
	follow := roles.FollowOptions{ConnectRetry: connectRetry, Heartbeat: heartbeat}
	if s.TLS != nil {
		follow.SSLCA = s.TLS.CA
	}
	for _, r := range s.Replicas() {
		db, err := s.tool(r)
		if err != nil {
			return err
		}
		err = roles.Follow(ctx, db, primary, repl, follow)
		db.Close()
		if err != nil {
			return fmt.Errorf("%s: replicate from %s: %w", r, s.Primary(), err)
		}
	}
	return nil
}

// waitReplicating waits until every replica's receiver is connected to the
// primary and the replica has applied what the primary has, by GTID
// (MASTER_GTID_WAIT) and by position (MASTER_POS_WAIT), watched for a
// stopped applier, in parallel. On a fresh sandbox the GTID set is empty,
// so that wait returns at once while Slave_IO_Running may still say
// Connecting and Exec_Master_Log_Pos lag the primary's position: the
// other two waits make "up" mean replicating and caught up.
func (s *Sandbox) waitReplicating(ctx context.Context, timeout time.Duration) error {
	primary, err := s.tool(s.Primary())
	if err != nil {
		return err
	}
	defer primary.Close()
	target, err := primary.GTIDExecuted(ctx)
	if err != nil {
		return err
	}
	pos, err := primary.Position(ctx)
	if err != nil {
		return err
	}
	replicas := s.Replicas()
	errs := make([]error, len(replicas))
	var wg sync.WaitGroup
	for i, r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := s.tool(r)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			if err := waitConnected(ctx, db, timeout); err != nil {
				errs[i] = err
				return
			}
			ok, err := db.WaitForGTID(ctx, target, timeout)
			if err == nil && !ok {
				err = fmt.Errorf("%s: has not applied %s after %s", r, target, timeout)
			}
			if err == nil {
				if ok, err = db.WaitForPosition(ctx, pos, timeout); err == nil && !ok {
					err = fmt.Errorf("%s: has not applied up to %s after %s", r, pos, timeout)
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitConnected waits until both replication threads run and the
// receiver is connected (server.WaitReplicating).
func waitConnected(ctx context.Context, db *server.Server, timeout time.Duration) error {
	ok, err := db.WaitReplicating(ctx, timeout)
	if err == nil && !ok {
		st, _ := db.ReplicaStatus(ctx)
		msg := ""
		if st != nil {
			msg = fmt.Sprintf(" (io %s): %s", st.IOThread, st.LastIOError)
		}
		err = fmt.Errorf("%s: receiver not connected to the primary after %s%s", db, timeout, msg)
	}
	return err
}
