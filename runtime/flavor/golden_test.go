package flavor

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The golden tables (golden_mysql_test.go, golden_mariadb_test.go) are the
// only check the MySQL statements get, since no MySQL server runs here:
// one row per version and operation with the exact text expected, written
// by hand from the manuals, not generated from the code. A row whose want
// starts with "error: " expects an error containing the rest.

type golden struct {
	version string
	op      string
	want    string
}

// goldenVersions are the versions every operation must be listed for.
var goldenVersions = []string{
	"5.7.7", "5.7.44-log", "8.0.21", "8.0.22", "8.0.23", "8.0.26", "8.2.0", "8.4.0",
	"10.5.27-MariaDB", "10.6.21-MariaDB-log", "10.10.7-MariaDB", "10.11.19-MariaDB-0+deb12u1", "11.4.5-MariaDB",
}

const (
	mysqlGTIDs   = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5"
	mariadbGTIDs = "0-1-5,1-2-7"
	// processList is ClientConnectionsQuery, the same text on every version.
	processList = "SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE, INFO FROM information_schema.PROCESSLIST " +
		"WHERE ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler') " +
		"AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')"
)

func sampleGTIDs(f Flavor) string {
	if f.IsMariaDB() {
		return mariadbGTIDs
	}
	return mysqlGTIDs
}

func plain(s string) (string, error) { return s, nil }

func waitText(w Wait, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %v", w.Query, w.Args), nil
}

var hour = time.Hour

var goldenOps = map[string]func(f Flavor) (string, error){
	"replica status":  func(f Flavor) (string, error) { return plain(f.ReplicaStatusQuery()) },
	"binlog status":   func(f Flavor) (string, error) { return plain(f.BinlogStatusQuery()) },
	"show replicas":   func(f Flavor) (string, error) { return plain(f.ShowReplicasQuery()) },
	"start":           func(f Flavor) (string, error) { return plain(f.StartReplica(BothThreads)) },
	"start io":        func(f Flavor) (string, error) { return plain(f.StartReplica(IOThread)) },
	"start sql":       func(f Flavor) (string, error) { return plain(f.StartReplica(SQLThread)) },
	"stop":            func(f Flavor) (string, error) { return plain(f.StopReplica(BothThreads)) },
	"stop io":         func(f Flavor) (string, error) { return plain(f.StopReplica(IOThread)) },
	"stop sql":        func(f Flavor) (string, error) { return plain(f.StopReplica(SQLThread)) },
	"reset":           func(f Flavor) (string, error) { return plain(f.ResetReplica(false)) },
	"reset all":       func(f Flavor) (string, error) { return plain(f.ResetReplica(true)) },
	"reset binlogs":   func(f Flavor) (string, error) { return plain(f.ResetBinaryLogs()) },
	"read write":      func(f Flavor) (string, error) { return f.SetReadOnly(ReadWrite) },
	"read only":       func(f Flavor) (string, error) { return f.SetReadOnly(ReadOnlyOn) },
	"super read only": func(f Flavor) (string, error) { return f.SetReadOnly(SuperReadOnly) },
	"gtid executed":   func(f Flavor) (string, error) { return plain(f.GTIDExecutedQuery()) },
	"last gtid":       func(f Flavor) (string, error) { return f.LastGTIDQuery() },
	"ftwrl":           func(f Flavor) (string, error) { return plain(f.FlushTablesWithReadLock()) },
	"unlock":          func(f Flavor) (string, error) { return plain(f.UnlockTables()) },
	"processlist":     func(f Flavor) (string, error) { return plain(f.ClientConnectionsQuery()) },
	"kill":            func(f Flavor) (string, error) { return plain(f.KillConnection(42)) },
	"until pos": func(f Flavor) (string, error) {
		return f.StartReplicaUntil(SQLThread, UntilPosition("mysql-bin.000003", 1234))
	},
	"until after": func(f Flavor) (string, error) {
		return f.StartReplicaUntil(BothThreads, UntilAfter(sampleGTIDs(f)))
	},
	"until before": func(f Flavor) (string, error) {
		return f.StartReplicaUntil(SQLThread, UntilBefore(sampleGTIDs(f)))
	},
	"change gtid": func(f Flavor) (string, error) {
		return f.ChangeSource(ChangeSourceOptions{Host: "db1.example", Port: 3306,
			User: "repl", Password: `s3cr'et\`, GTID: GTIDAutoPosition})
	},
	"change pos": func(f Flavor) (string, error) {
		return f.ChangeSource(ChangeSourceOptions{Host: "10.0.0.5", Port: 3307,
			User: "repl", Password: "pw", File: "mysql-bin.000003", Pos: 1234})
	},
	"change demote": func(f Flavor) (string, error) {
		return f.ChangeSource(ChangeSourceOptions{Host: "db2", Port: 3306, DemoteToReplica: true})
	},
	"change options": func(f Flavor) (string, error) {
		return f.ChangeSource(ChangeSourceOptions{ConnectRetry: 10 * time.Second,
			Heartbeat: 2500 * time.Millisecond, SSL: SSLOn, SSLCA: "/etc/ssl/ca.pem", SSLVerifyServerCert: SSLOn,
			Delay: &hour})
	},
	"change public key": func(f Flavor) (string, error) {
		return f.ChangeSource(ChangeSourceOptions{Host: "db1.example", Port: 3306,
			User: "repl", Password: "pw", GTID: GTIDAutoPosition, GetSourcePublicKey: true})
	},
	"change key path": func(f Flavor) (string, error) {
		return f.ChangeSource(ChangeSourceOptions{SourcePublicKeyPath: "/etc/mysql/source.pem"})
	},
	"change key both": func(f Flavor) (string, error) {
		return f.ChangeSource(ChangeSourceOptions{GetSourcePublicKey: true, SourcePublicKeyPath: "/k.pem"})
	},
	"needs public key":  func(f Flavor) (string, error) { return fmt.Sprint(f.NeedsSourcePublicKey()), nil },
	"install blackhole": func(f Flavor) (string, error) { return plain(f.InstallBlackhole()) },
	"option groups":     func(f Flavor) (string, error) { return strings.Join(f.OptionGroups(), " "), nil },
	"tls offered":       func(f Flavor) (string, error) { return plain(f.TLSOfferedQuery()) },
	"wait gtid": func(f Flavor) (string, error) {
		return waitText(f.WaitForGTID(sampleGTIDs(f), 1500*time.Millisecond))
	},
	"semi-sync state": func(f Flavor) (string, error) { return plain(f.SemiSyncQuery()) },
	"semi-sync on": func(f Flavor) (string, error) {
		on, timeout := true, 10*time.Second
		return f.SetSemiSync(SemiSyncSettings{Primary: &on, Replica: &on, Timeout: &timeout, WaitPoint: "after_sync"})
	},
	"semi-sync off": func(f Flavor) (string, error) {
		off := false
		return f.SetSemiSync(SemiSyncSettings{Primary: &off, Replica: &off})
	},
	"semi-sync install": func(f Flavor) (string, error) { return strings.Join(f.SemiSyncPlugins(true, true), "; "), nil },
	"wait pos": func(f Flavor) (string, error) {
		return waitText(f.WaitForPosition("mysql-bin.000003", 1234, 30*time.Second))
	},
}

func goldenRows() []golden {
	return append(append(append([]golden{}, goldenMySQL...), goldenMariaDB...), goldenSemiSync...)
}

func TestGoldenSQL(t *testing.T) {
	for _, g := range goldenRows() {
		op, ok := goldenOps[g.op]
		if !ok {
			t.Errorf("%s: unknown op %q", g.version, g.op)
			continue
		}
		got, err := op(MustParse(g.version))
		if want, isErr := strings.CutPrefix(g.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s %s: got (%q, %v), want error containing %q", g.version, g.op, got, err, want)
			}
			continue
		}
		if err != nil || got != g.want {
			t.Errorf("%s %s:\n got %q (err %v)\nwant %q", g.version, g.op, got, err, g.want)
		}
	}
}

// TestGoldenCoverage makes the tables complete: every operation for every
// version, once.
func TestGoldenCoverage(t *testing.T) {
	seen := map[[2]string]int{}
	for _, g := range goldenRows() {
		seen[[2]string{g.version, g.op}]++
	}
	for _, v := range goldenVersions {
		for op := range goldenOps {
			if n := seen[[2]string{v, op}]; n != 1 {
				t.Errorf("%s %s: %d golden rows, want 1", v, op, n)
			}
		}
	}
	if want := len(goldenVersions) * len(goldenOps); len(goldenRows()) != want {
		t.Errorf("%d golden rows, want %d", len(goldenRows()), want)
	}
}
