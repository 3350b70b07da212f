package topology

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// variablesQuery reads the settings of a node in one round trip. SHOW
// GLOBAL VARIABLES ... WHERE leaves out the names a server does not have,
// where SELECT @@GLOBAL.a, @@GLOBAL.b fails as a whole on the first one
// ("Unknown system variable 'super_read_only'" on MariaDB), so one list
// serves every flavor and version: server_uuid, super_read_only, gtid_mode
// and log_replica_updates (8.0.26+) exist on MySQL only, gtid_strict_mode
// on MariaDB only. information_schema.GLOBAL_VARIABLES would do the same
// but MySQL 8.0 removed it (and 5.7 refuses it under its default
// show_compatibility_56=OFF). The values are short; the GTID variables,
// which are not, come from flavor.GTIDStateQuery. The semi-sync
// variables (flavor.SemiSyncVariableNames) are here too, so that only a
// server with semi-sync turned on costs one more query, for its status.
const variablesQuery = "SHOW GLOBAL VARIABLES WHERE Variable_name IN (" +
	"'server_id', 'server_uuid', 'hostname', 'port', 'datadir', " +
	"'read_only', 'super_read_only', 'log_bin', 'log_slave_updates', 'log_replica_updates', " +
	"'binlog_format', 'gtid_strict_mode', 'gtid_mode', " +
	"'rpl_semi_sync_master_enabled', 'rpl_semi_sync_slave_enabled', " +
	"'rpl_semi_sync_master_timeout', 'rpl_semi_sync_master_wait_point', " +
	"'rpl_semi_sync_source_enabled', 'rpl_semi_sync_replica_enabled', " +
	"'rpl_semi_sync_source_timeout', 'rpl_semi_sync_source_wait_point')"

// dumpThreadsQuery lists the connections that stream this server's binary
// log: each replica's IO thread, but also binlog clients (mariadb-binlog
// --read-from-remote-server, change-data-capture tools). 'Binlog Dump
// GTID' is MySQL's command for a GTID auto-positioned replica.
const dumpThreadsQuery = "SELECT HOST FROM information_schema.PROCESSLIST " +
	"WHERE COMMAND IN ('Binlog Dump', 'Binlog Dump GTID')"

// gather reads everything about one node. It runs in a goroutine of its
// own and writes only to n. Every read goes through Aside, on pooled
// connections: a timeout on the session would close it (see
// server.onSession) and with it any lock the script holds there, such as
// FLUSH TABLES WITH READ LOCK on a primary being fenced.
func gather(ctx context.Context, n *Node) {
	sv := n.Server
	fl, err := sv.Flavor(ctx)
	if err != nil {
		n.Err = err
		return
	}
	n.Flavor = fl
	res, err := sv.Aside(ctx, variablesQuery)
	if err == nil {
		err = n.readVariables(res)
	}
	if err != nil {
		n.Err = err
		return
	}
	if err := readGTIDs(ctx, n); err != nil {
		n.Partial = append(n.Partial, err)
	}
	if err := n.readSemiSyncStatus(ctx); err != nil {
		n.Partial = append(n.Partial, err)
	}
	if err := n.readReplicaStatus(ctx); err != nil {
		n.Partial = append(n.Partial, err)
	}
	if err := n.readReplicaHosts(ctx); err != nil {
		n.Partial = append(n.Partial, err)
	}
}

func (n *Node) readVariables(res *server.Result) error {
	vars := nameValues(res)
	var err error
	n.ServerID, err = strconv.ParseUint(vars["server_id"], 10, 32)
	if err != nil {
		return fmt.Errorf("%s: server_id %q: %w", n.Server, vars["server_id"], err)
	}
	n.ServerUUID = vars["server_uuid"]
	n.Hostname = vars["hostname"]
	n.ListenPort, _ = strconv.Atoi(vars["port"])
	n.Datadir = vars["datadir"]
	n.ReadOnly = isOn(vars["read_only"])
	n.SuperReadOnly = optionalOn(vars, "super_read_only")
	n.LogBin = isOn(vars["log_bin"])
	n.LogReplicaUpdates = isOn(vars["log_slave_updates"]) || isOn(vars["log_replica_updates"])
	n.BinlogFormat = vars["binlog_format"]
	n.GTIDStrictMode = optionalOn(vars, "gtid_strict_mode")
	n.GTIDMode = vars["gtid_mode"]
	n.semiSyncVars = vars
	if st := flavor.ParseSemiSync(vars); st.Available {
		n.SemiSync = &st
	}
	return nil
}

// nameValues reads the rows of SHOW VARIABLES or SHOW STATUS, keyed by
// lower-cased name.
func nameValues(res *server.Result) map[string]string {
	vars := make(map[string]string, len(res.Rows))
	name, value := slices.Index(res.Columns, "Variable_name"), slices.Index(res.Columns, "Value")
	if name < 0 || value < 0 {
		return vars
	}
	for _, row := range res.Rows {
		n, _ := row[name].(string)
		v, _ := row[value].(string)
		vars[strings.ToLower(n)] = v
	}
	return vars
}

// readSemiSyncStatus adds the semi-sync status to the settings
// readVariables found, on a server where either side is turned on.
func (n *Node) readSemiSyncStatus(ctx context.Context) error {
	if n.SemiSync == nil || !n.SemiSync.PrimaryEnabled && !n.SemiSync.ReplicaEnabled {
		return nil
	}
	res, err := n.Server.Aside(ctx, n.Flavor.SemiSyncStatusQuery())
	if err != nil {
		return fmt.Errorf("%s: semi-sync status: %w", n.Server, err)
	}
	vars := nameValues(res)
	for _, name := range flavor.SemiSyncVariableNames {
		if v, ok := n.semiSyncVars[name]; ok {
			vars[name] = v
		}
	}
	st := flavor.ParseSemiSync(vars)
	n.SemiSync = &st
	return nil
}

func isOn(v string) bool { return strings.EqualFold(v, "ON") || v == "1" }

func optionalOn(vars map[string]string, name string) *bool {
	v, ok := vars[name]
	if !ok {
		return nil
	}
	on := isOn(v)
	return &on
}

// readGTIDs reads the GTID state. Discover calls it again on the primary
// after every other server (see errant.go for why).
func readGTIDs(ctx context.Context, n *Node) error {
	res, err := n.Server.Aside(ctx, n.Flavor.GTIDStateQuery())
	if err != nil {
		return err
	}
	if len(res.Rows) == 0 {
		return fmt.Errorf("%s: %s returned no row", n.Server, n.Flavor.GTIDStateQuery())
	}
	row := res.Row(0)
	text := func(col string) string { s, _ := row[col].(string); return s }
	parse := func(col string, f gtid.Flavor) (gtid.Set, error) {
		set, err := gtid.Parse(text(col), f)
		if err != nil {
			return set, fmt.Errorf("%s: %s %q: %w", n.Server, col, text(col), err)
		}
		return set, nil
	}
	if !n.Flavor.IsMariaDB() {
		n.GTIDExecuted, err = parse("gtid_executed", gtid.MySQL)
		return err
	}
	if n.GTIDBinlogPos, err = parse("gtid_binlog_pos", gtid.MariaDB); err != nil {
		return err
	}
	if n.GTIDSlavePos, err = parse("gtid_slave_pos", gtid.MariaDB); err != nil {
		return err
	}
	if n.GTIDCurrentPos, err = parse("gtid_current_pos", gtid.MariaDB); err != nil {
		return err
	}
	n.GTIDExecuted = n.GTIDCurrentPos
	if n.BinlogState, err = ParseBinlogState(text("gtid_binlog_state")); err != nil {
		return fmt.Errorf("%s: gtid_binlog_state: %w", n.Server, err)
	}
	return nil
}

func (n *Node) readReplicaStatus(ctx context.Context) error {
	res, err := n.Server.Aside(ctx, n.Flavor.ReplicaStatusQuery())
	if err != nil {
		return err
	}
	st, ok, err := flavor.ParseReplicaStatusResult(res.Columns, res.Rows)
	if err != nil {
		return fmt.Errorf("%s: replica status: %w", n.Server, err)
	}
	if ok {
		n.Replica = &st
		n.Lag = st.SecondsBehind
	}
	return nil
}

// readReplicaHosts lists the replicas registered with the server (those
// with report_host set show their address and report_port), and the hosts
// of its binlog dump threads, for replicas that do not report themselves.
// When SHOW REPLICA HOSTS fails (MariaDB wants REPLICATION MASTER ADMIN
// for it) the dump threads still lead to the replicas.
func (n *Node) readReplicaHosts(ctx context.Context) error {
	listErr := n.listReplicas(ctx)
	res, err := n.Server.Aside(ctx, dumpThreadsQuery)
	if err != nil {
		return errors.Join(listErr, err)
	}
	var hosts []string
	for _, r := range res.Rows {
		h, _ := r[0].(string)
		hosts = append(hosts, h)
	}
	n.dumpThreads = len(hosts)
	n.guessed = n.guessReplicas(hosts)
	return listErr
}

func (n *Node) listReplicas(ctx context.Context) error {
	res, err := n.Server.Aside(ctx, n.Flavor.ShowReplicasQuery())
	if err != nil {
		return err
	}
	for i := range res.Rows {
		h, err := flavor.ParseReplicaHost(res.Row(i))
		if err != nil {
			return fmt.Errorf("%s: %w", n.Server, err)
		}
		if h.Host != "" && h.Port != 0 {
			n.reported = append(n.reported, reportedReplica{hostPort{h.Host, h.Port}, h.ServerID})
		}
	}
	return nil
}

// guessReplicas turns binlog dump threads that SHOW REPLICA HOSTS does not
// account for into addresses. The processlist shows the client's side of
// the connection ("10.0.0.2:51234"), not the port the replica serves on,
// so the guess is the replica's host and this server's own port, as
// orchestrator does; when no server answers there the guess is dropped or
// reported as a warning, never an error (see dropPhantoms).
func (n *Node) guessReplicas(hosts []string) []hostPort {
	if len(hosts) <= len(n.reported) {
		return nil
	}
	port := n.ListenPort
	if port == 0 {
		port = n.Port
	}
	var out []hostPort
	for _, h := range hosts {
		host, _, err := net.SplitHostPort(h)
		if err != nil {
			host = h
		}
		if host == "" || n.reportsHost(host) {
			continue
		}
		out = append(out, hostPort{host, port})
	}
	return out
}

func (n *Node) reportsHost(host string) bool {
	for _, r := range n.reported {
		if strings.EqualFold(r.host, host) {
			return true
		}
	}
	return false
}
