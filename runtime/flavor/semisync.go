package flavor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Semi-synchronous replication: a primary with it on waits, at commit, until
// one replica has acknowledged that the transaction is in its relay log
// (for at most the timeout, then it falls back to asynchronous replication
// and says so in its status).
//
// MariaDB 10.3.3 and later have it built in: "Semisynchronous replication is
// no longer a plugin in MariaDB 10.3.3 and later" (MariaDB KB,
// Semisynchronous Replication), with the master/slave names only.
//
// MySQL has it as plugins. Before 8.0.26: rpl_semi_sync_master
// (semisync_master.so) and rpl_semi_sync_slave (semisync_slave.so), with
// rpl_semi_sync_master_* / rpl_semi_sync_slave_* names. From 8.0.26:
// rpl_semi_sync_source (semisync_source.so) and rpl_semi_sync_replica
// (semisync_replica.so), with rpl_semi_sync_source_* / _replica_* names
// (refman 8.0, 19.4.10 "Semisynchronous Replication"); 8.4 has only those.

// semiSyncNames returns the primary-side and replica-side prefix of the
// flavor's variable and status names, lower case.
func (f Flavor) semiSyncNames() (primary, replica string) {
	if f.semiSyncSourceNames() {
		return "rpl_semi_sync_source", "rpl_semi_sync_replica"
	}
	return "rpl_semi_sync_master", "rpl_semi_sync_slave"
}

// SemiSyncQuery returns one statement whose rows are (Variable_name, Value)
// pairs: every semi-sync system and status variable of the server. On
// MariaDB both come from information_schema in one UNION; on MySQL, whose
// information_schema lacks these tables from 8.0, from performance_schema.
// A MySQL server without the plugins returns no rows (see
// ParseSemiSync's Available).
func (f Flavor) SemiSyncQuery() string {
	schema := "performance_schema.global_variables"
	status := "performance_schema.global_status"
	if f.IsMariaDB() {
		schema, status = "information_schema.GLOBAL_VARIABLES", "information_schema.GLOBAL_STATUS"
	}
	return "SELECT VARIABLE_NAME AS Variable_name, VARIABLE_VALUE AS Value FROM " + schema +
		" WHERE VARIABLE_NAME LIKE 'rpl\\_semi\\_sync\\_%' UNION ALL " +
		"SELECT VARIABLE_NAME, VARIABLE_VALUE FROM " + status +
		" WHERE VARIABLE_NAME LIKE 'rpl\\_semi\\_sync\\_%'"
}

// SemiSyncStatusQuery returns the SHOW statement for the semi-sync status
// variables alone, for a caller that has the system variables already.
func (f Flavor) SemiSyncStatusQuery() string {
	return "SHOW GLOBAL STATUS LIKE 'Rpl\\_semi\\_sync\\_%'"
}

// SemiSyncVariableNames are the system variables of every flavor that
// SemiSyncState reads, for a caller folding them into a query of its own.
var SemiSyncVariableNames = []string{
	"rpl_semi_sync_master_enabled", "rpl_semi_sync_slave_enabled",
	"rpl_semi_sync_master_timeout", "rpl_semi_sync_master_wait_point",
	"rpl_semi_sync_source_enabled", "rpl_semi_sync_replica_enabled",
	"rpl_semi_sync_source_timeout", "rpl_semi_sync_source_wait_point",
}

// SemiSync is a server's semi-synchronous replication state in one
// vocabulary.
type SemiSync struct {
	// Available is false on a MySQL server without the plugins: none of
	// the variables exist.
	Available bool
	// PrimaryEnabled and ReplicaEnabled are the settings
	// (rpl_semi_sync_master_enabled / _source_enabled, _slave_enabled /
	// _replica_enabled).
	PrimaryEnabled, ReplicaEnabled bool
	// PrimaryActive is Rpl_semi_sync_master_status: ON while the primary
	// waits for acknowledgements; OFF once it fell back to asynchronous
	// replication after a timeout (or with no semi-sync replica).
	PrimaryActive bool
	// ReplicaActive is Rpl_semi_sync_slave_status: ON while the receiver
	// runs a semi-sync connection with its source.
	ReplicaActive bool
	// Clients is Rpl_semi_sync_master_clients: the connected semi-sync
	// replicas.
	Clients uint64
	// AckedTx and UnackedTx are Rpl_semi_sync_master_yes_tx and _no_tx:
	// commits a replica acknowledged, and commits that went without.
	AckedTx, UnackedTx uint64
	Timeout            time.Duration // rpl_semi_sync_master_timeout (milliseconds on the server)
	WaitPoint          string        // AFTER_SYNC or AFTER_COMMIT
}

// ParseSemiSync reads the state from name/value pairs (SemiSyncQuery's
// rows, or SHOW VARIABLES and SHOW STATUS rows); names are matched without
// regard to case, and both naming schemes are read.
func ParseSemiSync(values map[string]string) SemiSync {
	v := map[string]string{}
	for k, x := range values {
		k = strings.ToLower(k)
		k = strings.Replace(k, "rpl_semi_sync_source", "rpl_semi_sync_master", 1)
		k = strings.Replace(k, "rpl_semi_sync_replica", "rpl_semi_sync_slave", 1)
		v[k] = x
	}
	on := func(name string) bool {
		s := v[name]
		return strings.EqualFold(s, "ON") || s == "1"
	}
	count := func(name string) uint64 { n, _ := strconv.ParseUint(v[name], 10, 64); return n }
	_, hasPrimary := v["rpl_semi_sync_master_enabled"]
	_, hasReplica := v["rpl_semi_sync_slave_enabled"]
	return SemiSync{
		Available:      hasPrimary || hasReplica,
		PrimaryEnabled: on("rpl_semi_sync_master_enabled"),
		ReplicaEnabled: on("rpl_semi_sync_slave_enabled"),
		PrimaryActive:  on("rpl_semi_sync_master_status"),
		ReplicaActive:  on("rpl_semi_sync_slave_status"),
		Clients:        count("rpl_semi_sync_master_clients"),
		AckedTx:        count("rpl_semi_sync_master_yes_tx"),
		UnackedTx:      count("rpl_semi_sync_master_no_tx"),
		Timeout:        time.Duration(count("rpl_semi_sync_master_timeout")) * time.Millisecond,
		WaitPoint:      strings.ToUpper(v["rpl_semi_sync_master_wait_point"]),
	}
}

// SemiSyncSettings is what SetSemiSync changes; nil and "" leave a
// setting alone.
type SemiSyncSettings struct {
	Primary, Replica *bool
	Timeout          *time.Duration
	WaitPoint        string // AFTER_SYNC or AFTER_COMMIT
}

// SemiSyncPlugins returns the INSTALL PLUGIN statements a server without
// the semi-sync variables needs before SetSemiSync: none on MariaDB 10.3.3+ (built
// in), the side's plugin on MySQL. Installing an installed plugin is an
// error, so ask only when SemiSync.Available is false.
func (f Flavor) SemiSyncPlugins(primary, replica bool) []string {
	if f.semiSyncBuiltIn() {
		return nil
	}
	p, r := "rpl_semi_sync_master SONAME 'semisync_master.so'", "rpl_semi_sync_slave SONAME 'semisync_slave.so'"
	if f.semiSyncSourceNames() {
		p, r = "rpl_semi_sync_source SONAME 'semisync_source.so'", "rpl_semi_sync_replica SONAME 'semisync_replica.so'"
	}
	var out []string
	if primary {
		out = append(out, "INSTALL PLUGIN "+p)
	}
	if replica {
		out = append(out, "INSTALL PLUGIN "+r)
	}
	return out
}

// SetSemiSync returns one SET GLOBAL statement for the given settings.
//
// A replica-side change takes effect only when the receiver reconnects:
// "If the slave is already running, you must restart the I/O thread"
// (MariaDB KB, Semisynchronous Replication; the MySQL manual says the same
// of the replication I/O thread). SemiSyncNeedsReceiverRestart says when.
func (f Flavor) SetSemiSync(s SemiSyncSettings) (string, error) {
	primary, replica := f.semiSyncNames()
	var parts []string
	onOff := func(b bool) string {
		if b {
			return "ON"
		}
		return "OFF"
	}
	if s.Primary != nil {
		parts = append(parts, "GLOBAL "+primary+"_enabled = "+onOff(*s.Primary))
	}
	if s.Replica != nil {
		parts = append(parts, "GLOBAL "+replica+"_enabled = "+onOff(*s.Replica))
	}
	if s.Timeout != nil {
		if *s.Timeout < 0 {
			return "", fmt.Errorf("semi-sync timeout %s: want 0 or more", *s.Timeout)
		}
		parts = append(parts, "GLOBAL "+primary+"_timeout = "+strconv.FormatInt(s.Timeout.Milliseconds(), 10))
	}
	switch w := strings.ToUpper(s.WaitPoint); w {
	case "":
	case "AFTER_SYNC", "AFTER_COMMIT":
		parts = append(parts, "GLOBAL "+primary+"_wait_point = "+w)
	default:
		return "", fmt.Errorf("semi-sync wait point %q: want AFTER_SYNC or AFTER_COMMIT", s.WaitPoint)
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("semi-sync: nothing to set")
	}
	return "SET " + strings.Join(parts, ", "), nil
}

// SemiSyncNeedsReceiverRestart reports whether the settings change the
// replica side, which a running receiver picks up only once restarted
// (StopReplica(IOThread), then StartReplica(IOThread)).
func SemiSyncNeedsReceiverRestart(s SemiSyncSettings) bool { return s.Replica != nil }
