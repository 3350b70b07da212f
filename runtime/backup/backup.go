// Package backup takes a consistent copy of a server together with the
// replication coordinates it matches, and restores it into another server
// so that the latter can replicate from the topology and converge. The
// Python Replicant tarred the datadir under FLUSH TABLES WITH READ LOCK;
// this keeps the capability with the vendors' tools:
//
//   - Logical: mariadb-dump / mysqldump --single-transaction with the
//     binlog position and GTID written into the dump's header. Works with
//     any reachable server; restore pipes the dump into the mariadb/mysql
//     client.
//   - Physical: mariadb-backup (or Percona XtraBackup for MySQL) --backup
//     and --prepare, with the position from xtrabackup_binlog_info; restore
//     copies the image next to a stopped target's datadir and swaps the
//     directories. A server whose machine is on another host (ssh) is
//     reached through it, whatever its address or @@hostname say: the tool
//     runs there with --stream=mbstream into mbstream -x here, and a
//     restore streams the image's files there (tar) and swaps there with
//     mv. Other servers must run on this machine.
//
// Every image is a directory: payload/ (the dump, or the prepared datadir)
// and manifest.json (source, flavor, method, position, GTID, size, SHA-256
// of every payload file). Restore verifies the image before it touches the
// target. Passwords reach the tools through a 0600 option file, never a
// command line.
//
// Limits:
//   - Both methods copy the mysql schema: after a restore the target has the
//     source's accounts and passwords.
//   - Logical: the load is one client session, single-threaded: minutes per
//     GB. Tables of other engines than InnoDB are read outside the
//     snapshot. Databases the target has and the dump lacks are kept, so
//     restore into a fresh or disposable server. A load that fails half-way
//     leaves the target half-restored (the error says so).
//   - Physical: the source and the target run on this machine (a socket, a
//     loopback address or a matching @@hostname) or have a machine on
//     another host, with every InnoDB file inside the datadir (copy-back
//     runs with --no-defaults, and the streamed restore copies what it
//     would); the datadir is not a mount point and its filesystem has room
//     for a second copy; DATADIR.old-STAMP is kept for the operator to
//     delete. The image is always a directory here, so a copy between two
//     other hosts passes through this machine.
//   - Through a machine: the source's host has the backup tool of the
//     server's major.minor, and the account logs in over the server's
//     socket there (user@localhost); --prepare runs here with this
//     machine's tool of the same major.minor. Hosts need a POSIX sh, GNU
//     coreutils and tar. The remote tool's log comes back only as the
//     tail quoted in an error. XtraBackup's xbstream is wired the same
//     way but untested.
//   - The MySQL paths (mysqldump --source-data, xtrabackup, gtid_purged)
//     follow the tools' documentation and are tested on their output
//     format only: no MySQL server runs here.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Method is how an image is taken and restored.
type Method string

const (
	Logical  Method = "logical"
	Physical Method = "physical"
)

// Options of Backup.
type Options struct {
	Method Method // Logical when empty
	Tools  Tools
	// Host is the source's machine. When it is not this computer (an ssh
	// machine), a physical backup runs the tool there through it and
	// streams the copy here, whatever the server's address or @@hostname
	// say; nil or a local machine: the tool runs here, on a server that
	// must run here. A logical backup does not use it.
	Host machine.Host
	// Progress receives a line (bytes so far, elapsed time) at most once a
	// second while the tool runs, and one when it ends; nil for none.
	Progress io.Writer
}

// Error is a failed backup, restore or verification: which server (empty
// for an image check alone), which operation, and why, with the tool's
// stderr tail when a tool failed.
type Error struct {
	Op     string // "backup", "restore", "verify"
	Server string // the server's String(); "" for an image check
	Err    error
}

func (e *Error) Error() string {
	if e.Server == "" {
		return e.Op + ": " + e.Err.Error()
	}
	return e.Server + ": " + e.Op + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// backupJob is what one backup works with.
type backupJob struct {
	src      *server.Server
	fl       flavor.Flavor
	image    string // the image directory
	payload  string // image/payload
	opts     Options
	manifest *Manifest
}

// Backup takes an image of src into the directory to, which must not exist
// or be empty, and returns its manifest. On failure what it wrote is
// removed.
//
//  1. check the source: flavor, binary log on, and on a MariaDB replica
//     log_slave_updates (else its binlog GTID position misses what it
//     replicated, and a server restored from it would fetch it again)
//  2. run the method's tool into to/payload and read the position and GTID
//  3. hash the payload and write manifest.json last
func Backup(ctx context.Context, src *server.Server, to string, opts Options) (*Manifest, error) {
	if opts.Method == "" {
		opts.Method = Logical
	}
	m, err := runBackup(ctx, src, to, opts)
	if err != nil {
		var be *Error
		if errors.As(err, &be) {
			return nil, err
		}
		return nil, &Error{Op: "backup", Server: src.String(), Err: err}
	}
	return m, nil
}

func runBackup(ctx context.Context, src *server.Server, to string, opts Options) (_ *Manifest, err error) {
	meth, err := methodOf(opts.Method)
	if err != nil {
		return nil, err
	}
	fl, err := checkSource(ctx, src)
	if err != nil {
		return nil, err
	}
	created, err := makeImageDir(to)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			removeImage(to, created)
		}
	}()
	start := time.Now()
	j := &backupJob{src: src, fl: fl, image: to, payload: filepath.Join(to, PayloadDir), opts: opts,
		manifest: &Manifest{Method: opts.Method, Server: src.Name(), Address: src.Address(),
			Flavor: fl.Kind.String(), Version: fl.Raw, Created: start.UTC().Truncate(time.Second)}}
	if err := meth.backup(ctx, j); err != nil {
		return nil, err
	}
	j.manifest.Seconds = time.Since(start).Seconds()
	p := startProgress(opts.Progress, src.String()+": checksum", 0, nil)
	err = seal(to, j.manifest, p)
	p.finish(doneOrFailed(err))
	if err != nil {
		return nil, fmt.Errorf("checksum of %s: %w", to, err)
	}
	return j.manifest, nil
}

// method is one way to take and restore an image.
type method interface {
	backup(ctx context.Context, j *backupJob) error
	restore(ctx context.Context, j *restoreJob) error
}

func methodOf(m Method) (method, error) {
	switch m {
	case Logical:
		return logical{}, nil
	case Physical:
		return physical{}, nil
	}
	return nil, fmt.Errorf("method %q: want %q or %q", m, Logical, Physical)
}

// checkSource refuses a server whose image would not carry a usable
// replication position.
func checkSource(ctx context.Context, src *server.Server) (flavor.Flavor, error) {
	fl, err := src.Flavor(ctx)
	if err != nil {
		return fl, err
	}
	row, err := src.QueryRow(ctx, "SELECT @@GLOBAL.log_bin AS log_bin, @@GLOBAL.log_slave_updates AS log_slave_updates")
	if err != nil {
		return fl, err
	}
	if !isOn(row["log_bin"]) {
		return fl, fmt.Errorf("binary logging is off, so a backup would carry no replication position (set log_bin)")
	}
	// MySQL's gtid_executed counts replicated transactions even without
	// log_replica_updates; MariaDB's dump and mariadb-backup both record
	// gtid_binlog_pos, which does not.
	if fl.IsMariaDB() && !isOn(row["log_slave_updates"]) {
		st, err := src.ReplicaStatus(ctx)
		if err != nil {
			return fl, err
		}
		if st != nil {
			return fl, fmt.Errorf("a replica without log_slave_updates: its gtid_binlog_pos, which the tools record, " +
				"misses what it replicated; back up its primary or a replica with log_slave_updates")
		}
	}
	return fl, nil
}

func isOn(v any) bool {
	switch x := v.(type) {
	case int64:
		return x != 0
	case uint64:
		return x != 0
	case string:
		return x == "1" || strings.EqualFold(x, "ON")
	}
	return false
}

// makeImageDir creates dir, or accepts it empty; created says whether we
// made it, so that a failure removes only what is ours.
func makeImageDir(dir string) (created bool, err error) {
	if dir == "" {
		return false, fmt.Errorf("no image directory given")
	}
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return false, fmt.Errorf("image directory %s exists and is not empty", dir)
	case err == nil:
		return false, nil
	case !errors.Is(err, os.ErrNotExist):
		return false, err
	}
	// 0700: an image holds the source's account table (password hashes).
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	return true, nil
}

func removeImage(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	for _, n := range []string{PayloadDir, ManifestFile, toolLog, "." + ManifestFile + ".tmp"} {
		os.RemoveAll(filepath.Join(dir, n))
	}
}

func doneOrFailed(err error) string {
	if err != nil {
		return "failed"
	}
	return "done"
}

// isLocal reports whether the server runs on this machine, which a
// physical backup needs (mariadb-backup reads the datadir's files): a
// socket, a loopback address, or the server's @@hostname is ours. A
// datadir path that merely exists here is not proof: /var/lib/mysql exists
// on most hosts.
func isLocal(cfg server.Config, serverHost string) bool {
	if cfg.Socket != "" || cfg.Host == "localhost" {
		return true
	}
	if ip := net.ParseIP(cfg.Host); ip != nil && ip.IsLoopback() {
		return true
	}
	h, err := os.Hostname()
	return err == nil && serverHost != "" && strings.EqualFold(h, serverHost)
}
