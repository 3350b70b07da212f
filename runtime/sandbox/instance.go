package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/mycnf"
)

// maxSocketPath is what fits in sockaddr_un.sun_path (108 bytes with the
// terminating NUL); mariadbd refuses a longer --socket.
const maxSocketPath = 107

// layout fills in the instances' names, paths, ids and roles. Ports stay 0
// when they are to be picked at start.
func layout(s *Sandbox, o Options) error {
	sockDir := ""
	if len(filepath.Join(s.Dir, fmt.Sprintf("db%d", o.Servers), "mysqld.sock")) > maxSocketPath {
		// t.TempDir() under a long test name easily exceeds the limit.
		d, err := os.MkdirTemp("", "rl-sock-")
		if err != nil {
			return err
		}
		sockDir, s.SocketDir = d, d
	}
	for i := 1; i <= o.Servers; i++ {
		name := fmt.Sprintf("db%d", i)
		idir := filepath.Join(s.Dir, name)
		in := Instance{
			Name:         name,
			Socket:       filepath.Join(idir, "mysqld.sock"),
			DataDir:      filepath.Join(idir, "data"),
			TmpDir:       filepath.Join(idir, "tmp"),
			DefaultsFile: filepath.Join(idir, "my.cnf"),
			ErrorLog:     filepath.Join(idir, "error.log"),
			ServerID:     i,
			Role:         RoleReplica,
			Binary:       s.Binary,
		}
		if sockDir != "" {
			in.Socket = filepath.Join(sockDir, name+".sock")
		}
		if len(in.Socket) > maxSocketPath {
			return fmt.Errorf("sandbox: socket path %s is longer than %d characters; set TMPDIR to a shorter directory", in.Socket, maxSocketPath)
		}
		if i == 1 {
			in.Role = RolePrimary
		}
		if o.BasePort != 0 {
			in.Port = o.BasePort + i - 1
		}
		s.Instances = append(s.Instances, in)
	}
	return nil
}

// optionFile is the instance's my.cnf, written with runtime/mycnf: the
// same kind of file, and the same editor, as server:config() uses later.
// It is all the server reads (--defaults-file), so /etc/mysql/my.cnf
// cannot leak into a sandbox. With tls the server offers TLS with the
// sandbox's certificate without requiring it: root's socket connections
// and Instance.DSN stay plain.
func optionFile(in Instance, primary string, tls *TLSFiles) (*mycnf.File, error) {
	started := "the primary"
	if in.Role == RoleReplica {
		started = "a replica of " + primary
	}
	header := fmt.Sprintf("# Written by replicant-lua sandbox up for %s, started as %s.\n# Run as: %s --defaults-file=%s\n[mysqld]\n",
		comment(in.Name), comment(started), comment(in.Binary), comment(in.DefaultsFile))
	f, err := mycnf.Parse(strings.NewReader(header), in.DefaultsFile)
	if err != nil {
		return nil, err
	}
	var errs []error
	set := func(k, v string) { errs = append(errs, f.Set("mysqld", k, v)) }
	flag := func(k string) { errs = append(errs, f.SetFlag("mysqld", k)) }
	if os.Geteuid() == 0 {
		set("user", "root") // mariadbd refuses to run as root without it
	}
	set("datadir", in.DataDir)
	set("tmpdir", in.TmpDir) // shared tmpdirs make parallel servers collide
	set("socket", in.Socket)
	set("port", strconv.Itoa(in.Port))
	set("bind-address", "127.0.0.1")
	set("pid-file", filepath.Join(filepath.Dir(in.DefaultsFile), "mysqld.pid"))
	set("log-error", in.ErrorLog)
	set("server-id", strconv.Itoa(in.ServerID))
	set("log-bin", "mysql-bin")
	set("relay-log", "relay-bin")
	flag("log-slave-updates") // every replica can become a primary
	set("binlog-format", "ROW")
	set("gtid-strict-mode", "1")
	// Parallel replication, as production runs it: a single applier thread
	// falls behind a primary written by several clients, and a switchover
	// then has to wait for it.
	set("slave-parallel-threads", "4")
	set("slave-parallel-mode", "optimistic")
	set("report-host", "127.0.0.1") // SHOW SLAVE HOSTS on the primary lists us
	set("report-port", strconv.Itoa(in.Port))
	flag("skip-name-resolve")
	set("performance-schema", "OFF") // ≈90 MiB RSS per server instead of ≈400
	set("innodb-buffer-pool-size", "16M")
	set("innodb-log-file-size", "8M")
	if in.Role == RoleReplica {
		// A replica that restarts stays read-only until promoted.
		set("read-only", "1")
	}
	if tls != nil {
		set("ssl-ca", tls.CA)
		set("ssl-cert", tls.ServerCert)
		set("ssl-key", tls.ServerKey)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sandbox: %s: option file: %w", in, err)
	}
	return f, nil
}

// semiSyncOptions are Options.SemiSync's settings (MariaDB's built-in
// semi-sync, whose options exist from 10.3.3).
var semiSyncOptions = [][2]string{
	{"rpl-semi-sync-master-enabled", "ON"},
	{"rpl-semi-sync-slave-enabled", "ON"},
	{"rpl-semi-sync-master-timeout", "10000"},
	{"rpl-semi-sync-master-wait-point", "AFTER_SYNC"},
}

// comment keeps text on its comment line: a newline in a path must not
// turn the rest of it into options.
func comment(text string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(text)
}

// launch writes the instance's option file, starts its server and waits
// until it answers. With automatic ports a clash (another process took the
// port between our probe and the server's bind) is retried on a new port.
// record is told the instance when its option file is written, and again
// with its pid once it answers.
func launch(ctx context.Context, in Instance, m *machine.Process, primary string, tls *TLSFiles, o Options, record func(Instance)) error {
	for attempt := 1; ; attempt++ {
		if o.BasePort == 0 {
			p, err := freePort()
			if err != nil {
				return err
			}
			in.Port = p
		}
		f, err := optionFile(in, primary, tls)
		if err != nil {
			return err
		}
		if o.SemiSync {
			for _, kv := range semiSyncOptions {
				if err := f.Set("mysqld", kv[0], kv[1]); err != nil {
					return fmt.Errorf("sandbox: %s: option %s: %w", in, kv[0], err)
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(o.ServerOptions)) {
			if err := f.Set("mysqld", k, o.ServerOptions[k]); err != nil {
				return fmt.Errorf("sandbox: %s: option %s: %w", in, k, err)
			}
		}
		if err := f.Save(in.DefaultsFile); err != nil {
			return fmt.Errorf("sandbox: %s: %w", in, err)
		}
		record(in)
		sctx, cancel := context.WithTimeout(ctx, o.Timeout)
		err = m.Start(sctx)
		cancel()
		if err == nil {
			in.Pid, err = m.Pid(ctx)
			if err == nil && in.Pid == 0 {
				err = errors.New("started, but its pid file names no running server")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
			record(in)
			return nil
		}
		if o.BasePort == 0 && attempt < 3 && portClash(err) {
			continue
		}
		return fmt.Errorf("%s: %w", in, err)
	}
}

// rootDB connects as root over the unix socket: the only root account the
// sandbox keeps, reachable only through the instance's 0700 directory.
func rootDB(in Instance) *sql.DB {
	cfg := gosql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "unix", in.Socket
	cfg.Timeout = 2 * time.Second
	connector, err := gosql.NewConnector(cfg)
	if err != nil {
		// NewConnector only fails on a malformed config, which ours is not.
		panic(err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(2)
	return db
}

// portClash tells a server that exited because its port was taken. The
// machine quotes only what this start wrote to the log, so an earlier
// attempt's clash does not count.
func portClash(err error) bool {
	se, ok := errors.AsType[*machine.StartError](err)
	return ok && se.Exited && strings.Contains(se.LogTail, "Address already in use")
}

// freePort asks the kernel for a free port on 127.0.0.1. Someone may take
// it before the server binds it; launch retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("sandbox: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkPortFree fails early, with a clear message, when a fixed port is taken.
func checkPortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("sandbox: port %d on 127.0.0.1 is not free: %w", port, err)
	}
	return l.Close()
}
