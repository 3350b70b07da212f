package roles

import (
	"context"
	"fmt"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Credentials of the replication account.
type Credentials struct {
	User, Password string
	Host           string // the account's host part; "" is '%'
}

// Master: binary log on, and the replication account, created or updated
// idempotently.
type Master struct {
	Repl  Credentials
	Extra []Edit // more option-file settings
}

func (Master) Name() string { return "master" }

func (m Master) Edits(Target) []Edit {
	return append([]Edit{{Name: "log-bin", Value: "mysql-bin"}, {Name: "skip-log-bin", Remove: true}}, m.Extra...)
}

func (m Master) Apply(ctx context.Context, t Target) error {
	if m.Repl.User == "" {
		return fmt.Errorf("master role: no replication user (repl_user in the deployment)")
	}
	fl, err := t.Server.Flavor(ctx)
	if err != nil {
		return err
	}
	host := m.Repl.Host
	if host == "" {
		host = "%"
	}
	// The statements stay out of the binary log: CREATE USER ... IDENTIFIED
	// BY would carry the password to every replica and anyone reading the
	// binlog (seen on MariaDB 10.11), and on a replica it would be an errant
	// transaction. Give the master role to every server that may become a
	// primary; each gets its own account.
	stmts := append(fl.CreateUser(m.Repl.User, host, m.Repl.Password), fl.GrantReplication(m.Repl.User, host))
	return withoutBinlog(ctx, t.Server, func() error {
		for _, stmt := range stmts {
			if _, err := t.Server.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("replication user: %w", err)
			}
		}
		return nil
	})
}

// withoutBinlog runs fn with sql_log_bin = 0 on db's session, put back on
// every path (or the session closed): a session left without binary
// logging would commit later writes without a GTID, never to reach the
// replicas.
func withoutBinlog(ctx context.Context, db *server.Server, fn func() error) error {
	return db.WithSession(ctx, []server.SessionVar{{Name: "sql_log_bin", Value: 0}}, fn)
}

// Final: a replica with no binary log of its own, replicating from Source.
type Final struct {
	Source *server.Server
	Repl   Credentials
	Follow FollowOptions // TLS of the replication connection
	Extra  []Edit
}

func (Final) Name() string { return "final" }

func (f Final) Edits(Target) []Edit {
	return append([]Edit{{Name: "log-bin", Remove: true}, {Name: "log-slave-updates", Remove: true},
		{Name: "read-only", Value: "1"}}, f.Extra...)
}

func (f Final) Apply(ctx context.Context, t Target) error {
	return Follow(ctx, t.Server, f.Source, f.Repl, f.Follow)
}

// Relay: binary log and log-slave-updates on, tables BLACKHOLE (it passes
// changes on without storing them), replicating from Source.
type Relay struct {
	Source *server.Server
	Repl   Credentials
	Follow FollowOptions // TLS of the replication connection
	Extra  []Edit
}

func (Relay) Name() string { return "relay" }

func (r Relay) Edits(Target) []Edit {
	return append([]Edit{{Name: "log-bin", Value: "mysql-bin"}, {Name: "log-slave-updates", Flag: true},
		{Name: "default-storage-engine", Value: "BLACKHOLE"}, {Name: "read-only", Value: "1"}}, r.Extra...)
}

// Prepare makes the BLACKHOLE engine available before the restart whose
// default-storage-engine names it: MariaDB ships it as a plugin, and the
// flavor's install statement records it in mysql.plugin, which the server
// loads at startup before it checks the default engine.
func (r Relay) Prepare(ctx context.Context, t Target) error {
	row, err := t.Server.QueryRow(ctx, "SELECT SUPPORT FROM information_schema.ENGINES WHERE ENGINE = 'BLACKHOLE'")
	if err != nil {
		return err
	}
	if row != nil && row["SUPPORT"] != "NO" {
		return nil
	}
	fl, err := t.Server.Flavor(ctx)
	if err != nil {
		return err
	}
	// Kept out of the binary log: on a replica it would be errant.
	return withoutBinlog(ctx, t.Server, func() error {
		if _, err := t.Server.Exec(ctx, fl.InstallBlackhole()); err != nil {
			return fmt.Errorf("BLACKHOLE engine: %w", err)
		}
		return nil
	})
}

func (r Relay) Apply(ctx context.Context, t Target) error {
	if err := blackholeTables(ctx, t.Server); err != nil {
		return err
	}
	return Follow(ctx, t.Server, r.Source, r.Repl, r.Follow)
}

// Vagabond: a server outside the deployment. Its replication, if any, is
// stopped and forgotten; its options are left alone.
type Vagabond struct{}

func (Vagabond) Name() string        { return "vagabond" }
func (Vagabond) Edits(Target) []Edit { return nil }

func (Vagabond) Apply(ctx context.Context, t Target) error {
	st, err := t.Server.ReplicaStatus(ctx)
	if err != nil || st == nil {
		return err
	}
	if err := t.Server.StopReplica(ctx, flavor.BothThreads); err != nil {
		return err
	}
	return t.Server.ResetReplica(ctx, true)
}

// FollowOptions are the replication connection's settings beyond the
// source and the account.
type FollowOptions struct {
	// ConnectRetry is how often the receiver reconnects to a lost source
	// (0 keeps the server's setting, 60 s by default).
	ConnectRetry time.Duration
	// Heartbeat is the source's heartbeat period to ask for (0 keeps the
	// server's, slave_net_timeout/2).
	Heartbeat time.Duration
	// SSLCA, a CA file on the replica's host, turns on TLS for the
	// replication connection with the source's certificate verified
	// against that CA and the source's host name (MASTER_SSL = 1,
	// MASTER_SSL_VERIFY_SERVER_CERT = 1). "" leaves TLS as the server has
	// it.
	SSLCA string
	// SourcePublicKeyPath, a file on the replica's host with the source's
	// RSA public key, is given to a MySQL 8 replica that replicates without
	// TLS; without it such a replica fetches the key from the source
	// (GET_SOURCE_PUBLIC_KEY), since the replication account's default
	// caching_sha2_password cannot log in over plain text otherwise.
	SourcePublicKeyPath string
}

// Follow points db at src by GTID (slave_pos / auto-position) and starts
// it, unless it already replicates from src with both threads running
// (and, when opts ask for TLS, verifies src's certificate against that
// CA: a replica in clear text is pointed again).
func Follow(ctx context.Context, db, src *server.Server, repl Credentials, opts FollowOptions) error {
	if src == nil {
		return fmt.Errorf("no source given (master = ...)")
	}
	host, port := src.Config().ReplicationAddress()
	if host == "" {
		return fmt.Errorf("source %s is reached over a socket; a replica needs its host and port (replication_host)", src)
	}
	st, err := db.ReplicaStatus(ctx)
	if err != nil {
		return err
	}
	if st != nil && st.SourceHost == host && st.SourcePort == port && st.IORunning && st.SQLRunning &&
		(opts.SSLCA == "" || (st.SSLVerifyServerCert && st.SSLCA == opts.SSLCA)) {
		return nil
	}
	if st != nil {
		if err := db.StopReplica(ctx, flavor.BothThreads); err != nil {
			return err
		}
	}
	change := flavor.ChangeSourceOptions{Host: host, Port: port, User: repl.User,
		Password: repl.Password, GTID: flavor.GTIDAutoPosition, ConnectRetry: opts.ConnectRetry, Heartbeat: opts.Heartbeat}
	if opts.SSLCA != "" {
		change.SSL, change.SSLCA, change.SSLVerifyServerCert = flavor.SSLOn, opts.SSLCA, flavor.SSLOn
	} else if err := publicKey(ctx, db, &change, opts); err != nil {
		return err
	}
	if err := db.ChangeSource(ctx, change); err != nil {
		return err
	}
	return db.StartReplica(ctx, flavor.BothThreads)
}

// publicKey sets how a replica without TLS gets the source's RSA key, on
// the flavors that need one (MySQL 8: "If you do not use a secure
// connection you must specify the SOURCE_PUBLIC_KEY_PATH or
// GET_SOURCE_PUBLIC_KEY option"; the receiver fails with error 2061
// otherwise). The master role creates the account with the default plugin.
func publicKey(ctx context.Context, db *server.Server, change *flavor.ChangeSourceOptions, opts FollowOptions) error {
	fl, err := db.Flavor(ctx)
	if err != nil {
		return err
	}
	switch {
	case !fl.NeedsSourcePublicKey() && opts.SourcePublicKeyPath != "":
		return fmt.Errorf("source public key path %s given, and %s has no such option", opts.SourcePublicKeyPath, fl)
	case !fl.NeedsSourcePublicKey():
	case opts.SourcePublicKeyPath != "":
		change.SourcePublicKeyPath = opts.SourcePublicKeyPath
	default:
		change.GetSourcePublicKey = true
	}
	return nil
}

// blackholeTables converts every user table to BLACKHOLE, with the binary
// log off for the session so the conversion does not travel downstream.
func blackholeTables(ctx context.Context, db *server.Server) error {
	res, err := db.Query(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "+
		"WHERE TABLE_TYPE = 'BASE TABLE' AND ENGINE <> 'BLACKHOLE' "+
		"AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')")
	if err != nil {
		return err
	}
	return withoutBinlog(ctx, db, func() error {
		for _, r := range res.Rows {
			schema, _ := r[0].(string)
			table, _ := r[1].(string)
			stmt := "ALTER TABLE " + flavor.QuoteIdentifier(schema) + "." + flavor.QuoteIdentifier(table) + " ENGINE = BLACKHOLE"
			if _, err := db.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("convert %s.%s to BLACKHOLE: %w", schema, table, err)
			}
		}
		return nil
	})
}
