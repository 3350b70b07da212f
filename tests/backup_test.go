package tests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/backup"
	"github.com/replicant-lua/replicant-lua/runtime/backup/backuptest"
	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// backupCluster is sandbox A (db1 primary, db2 and db3 replicas, db4
// detached: the server to rebuild) with data, and a fresh one-server
// sandbox B: the new server to seed.
type backupCluster struct {
	a, b  *sandbox.Sandbox
	db    map[string]*server.Server // A's servers, as A's admin user
	fresh *server.Server            // B's server, as B's admin user
	ctl   *backuptest.Controller    // stops and starts db4
	repl  flavor.ChangeSourceOptions
	logs  strings.Builder // progress lines
}

func newBackupCluster(t *testing.T) *backupCluster {
	c := &backupCluster{a: sandboxtest.Start(t, sandbox.Options{Servers: 4}), db: map[string]*server.Server{}}
	c.b = sandboxtest.Start(t, sandbox.Options{Servers: 1})
	for _, in := range c.a.Instances {
		c.db[in.Name] = bkConnect(t, c.a, c.a, in)
	}
	c.fresh = bkConnect(t, c.b, c.b, c.b.Primary())
	c.ctl = backuptest.New(t, c.a, "db4")
	pw, err := c.a.ReplUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	c.repl = flavor.ChangeSourceOptions{Host: "127.0.0.1", Port: c.a.Primary().Port, User: c.a.ReplUser.Name,
		Password: pw, GTID: flavor.GTIDAutoPosition}
	backuptest.Exec(t, c.db["db4"], "STOP SLAVE", "RESET SLAVE ALL")
	// B's only server has server_id 1 like A's primary, and a replica
	// skips events that carry its own server_id.
	backuptest.Exec(t, c.fresh, "SET GLOBAL server_id = 11")
	backuptest.Exec(t, c.db["db1"],
		"CREATE DATABASE app",
		"CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64), b BLOB)",
		"CREATE TRIGGER app.up BEFORE INSERT ON app.t FOR EACH ROW SET NEW.v = UPPER(NEW.v)",
		"CREATE PROCEDURE app.n() SELECT COUNT(*) FROM app.t")
	c.write(t, 500)
	backuptest.CaughtUp(t, c.db["db1"], c.db["db2"])
	return c
}

// write inserts n rows on the primary, with binary data in every row.
func (c *backupCluster) write(t *testing.T, n int) {
	backuptest.Exec(t, c.db["db1"], fmt.Sprintf(
		"INSERT INTO app.t (v, b) SELECT CONCAT('row ', seq), UNHEX('00FF5C27220A0D1A') FROM app.seq_1_to_%d", n))
}

// TestBackupRestore takes logical and physical images of a replica, seeds
// a new server and rebuilds a stale one from them, and checks that both
// then replicate from the primary and converge. Then it damages images and
// breaks restores half-way, and checks that the targets are left as they
// were.
func TestBackupRestore(t *testing.T) {
	c := newBackupCluster(t)
	images := t.TempDir() // outlives the subtests
	logical, physical := filepath.Join(images, "logical"), filepath.Join(images, "physical")
	t.Run("logical", func(t *testing.T) { c.logicalRoundTrip(t, logical) })
	t.Run("physical", func(t *testing.T) { c.physicalRoundTrip(t, physical) })
	if t.Failed() {
		return
	}
	t.Run("corrupt images refused", func(t *testing.T) { c.corruptRefused(t, logical, physical) })
	t.Run("physical failures undone", func(t *testing.T) { c.physicalUndone(t, physical) })
	t.Logf("progress lines seen:\n%s", c.logs.String())
}

func (c *backupCluster) logicalRoundTrip(t *testing.T, img string) {
	ctx := bkCtx(t)
	start := time.Now()
	m, err := backup.Backup(ctx, c.db["db2"], img, backup.Options{Method: backup.Logical, Progress: &c.logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("logical backup of db2: %v, %.1f MiB, %s at %s", time.Since(start).Round(time.Millisecond), float64(m.Size)/(1<<20), m.GTID, m.Position)
	c.checkManifest(t, m)
	c.write(t, 100) // after the image: must come through replication

	start = time.Now()
	r, err := backup.Restore(ctx, img, backup.Target{Server: c.fresh}, backup.RestoreOptions{Progress: &c.logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("logical restore into B: %v", time.Since(start).Round(time.Millisecond))
	if r.Manifest.GTID != m.GTID || r.OldDataDir != "" {
		t.Errorf("restored = %+v", r)
	}
	// The dump carries the mysql schema: B now has A's accounts.
	fresh := bkConnect(t, c.a, c.b, c.b.Primary())
	c.checkRestored(t, fresh, m, 500)
	c.replicateAndConverge(t, fresh, 600)
}

func (c *backupCluster) physicalRoundTrip(t *testing.T, img string) {
	ctx := bkCtx(t)
	start := time.Now()
	m, err := backup.Backup(ctx, c.db["db2"], img, backup.Options{Method: backup.Physical, Progress: &c.logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("physical backup of db2 (backup+prepare): %v, %.1f MiB, %d files", time.Since(start).Round(time.Millisecond),
		float64(m.Size)/(1<<20), len(m.Files))
	c.checkManifest(t, m)
	c.write(t, 100)

	db4 := c.db["db4"]
	datadir := backuptest.Variable(t, db4, "datadir")
	start = time.Now()
	r, err := backup.Restore(ctx, img, backup.Target{Server: db4, Controller: c.ctl}, backup.RestoreOptions{Progress: &c.logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("physical restore into db4 (stop, copy-back, swap, start): %v", time.Since(start).Round(time.Millisecond))
	if c.ctl.Stops != 1 || c.ctl.Starts != 1 {
		t.Errorf("controller: %d stops, %d starts; want 1, 1", c.ctl.Stops, c.ctl.Starts)
	}
	if !strings.HasPrefix(r.OldDataDir, filepath.Clean(datadir)+".old-") {
		t.Errorf("old datadir %q is not next to %s", r.OldDataDir, datadir)
	}
	if _, err := os.Stat(filepath.Join(r.OldDataDir, "mysql-bin.index")); err != nil {
		t.Errorf("previous datadir not kept: %v", err)
	}
	c.checkRestored(t, db4, m, 700)
	c.replicateAndConverge(t, db4, 800)
}

func (c *backupCluster) checkManifest(t *testing.T, m *backup.Manifest) {
	t.Helper()
	want := backuptest.Variable(t, c.db["db1"], "gtid_binlog_pos")
	if m.GTID != want || m.Server != "db2" || m.Flavor != "mariadb" || len(m.SHA256) != 64 {
		t.Errorf("manifest: server %s flavor %s gtid %q sha %q; want db2, mariadb, gtid %q", m.Server, m.Flavor, m.GTID, m.SHA256, want)
	}
	if p, err := m.BinlogPosition(); err != nil || p.Pos == 0 {
		t.Errorf("manifest position %q: %v", m.Position, err)
	}
}

// checkRestored: the target has the image's rows and GTID state, and no
// binary log of its own (the load wrote none).
func (c *backupCluster) checkRestored(t *testing.T, sv *server.Server, m *backup.Manifest, rows int64) {
	t.Helper()
	if got := backuptest.Rows(t, sv); got != rows {
		t.Errorf("%s: %d rows after restore, want %d", sv, got, rows)
	}
	if pos := backuptest.Variable(t, sv, "gtid_slave_pos"); pos != m.GTID {
		t.Errorf("%s: gtid_slave_pos %q, want the image's %q", sv, pos, m.GTID)
	}
	if pos := backuptest.Variable(t, sv, "gtid_binlog_pos"); pos != "" {
		t.Errorf("%s: gtid_binlog_pos %q after restore, want empty", sv, pos)
	}
	res, err := sv.Query(bkCtx(t), "SELECT (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='app') + "+
		"(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='app') AS n, "+
		"(SELECT COUNT(*) FROM app.t WHERE b = UNHEX('00FF5C27220A0D1A')) AS bin")
	if err != nil || res.Rows[0][0] != int64(2) || res.Rows[0][1] != rows {
		t.Errorf("%s: routines+triggers, binary rows = %v, %v; want 2, %d", sv, res, err, rows)
	}
}

// replicateAndConverge points the target at the primary by GTID, writes
// more, and checks rows and GTID positions match the primary's.
func (c *backupCluster) replicateAndConverge(t *testing.T, sv *server.Server, rows int64) {
	t.Helper()
	ctx := bkCtx(t)
	if err := sv.ChangeSource(ctx, c.repl); err != nil {
		t.Fatal(err)
	}
	if err := sv.StartReplica(ctx, flavor.BothThreads); err != nil {
		t.Fatal(err)
	}
	c.write(t, 100)
	backuptest.CaughtUp(t, c.db["db1"], sv)
	if got, want := backuptest.Rows(t, sv), backuptest.Rows(t, c.db["db1"]); got != want || got != rows+100 {
		t.Errorf("%s: %d rows, primary %d, want %d", sv, got, want, rows+100)
	}
	primary := backuptest.Variable(t, c.db["db1"], "gtid_binlog_pos")
	for _, v := range []string{"gtid_current_pos", "gtid_binlog_pos"} {
		if got := backuptest.Variable(t, sv, v); got != primary {
			t.Errorf("%s: %s %q, primary's gtid_binlog_pos %q", sv, v, got, primary)
		}
	}
}

func bkCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// bkConnect logs in to instance in of sandbox at with the admin account of
// sandbox as.
func bkConnect(t *testing.T, as, at *sandbox.Sandbox, in sandbox.Instance) *server.Server {
	t.Helper()
	pw, err := as.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	sv, err := server.New(server.Config{Name: in.Name, Host: "127.0.0.1", Port: in.Port, User: as.User.Name, Password: server.Secret(pw)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Close() })
	return sv
}

// bkCopyImage copies an image to damage it.
func bkCopyImage(t *testing.T, img string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(img))
	if out, err := exec.Command("cp", "-a", img, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	return dst
}

func bkNoSecrets(t *testing.T, err error, sbs ...*sandbox.Sandbox) {
	t.Helper()
	for _, sb := range sbs {
		for _, c := range []sandbox.Credential{sb.User, sb.ReplUser} {
			if pw, _ := c.Password(); pw != "" && strings.Contains(err.Error(), pw) {
				t.Errorf("error shows the password of %s: %v", c.Name, err)
			}
		}
	}
}

func (c *backupCluster) corruptRefused(t *testing.T, logical, physical string) {
	ctx := bkCtx(t)
	fresh := bkConnect(t, c.a, c.b, c.b.Primary())
	before := backuptest.State(t, fresh)
	payload := func(dir, name string) string { return filepath.Join(dir, backup.PayloadDir, name) }
	for _, tc := range []struct {
		name, img, want string
		damage          func(dir string) error
	}{
		{"flipped byte", logical, "payload/dump.sql: SHA-256", func(dir string) error { return bkFlip(payload(dir, "dump.sql")) }},
		{"no manifest", logical, "no manifest.json", func(dir string) error { return os.Remove(filepath.Join(dir, backup.ManifestFile)) }},
		{"truncated", logical, "(truncated or altered)", func(dir string) error {
			fi, err := os.Stat(payload(dir, "dump.sql"))
			if err != nil {
				return err
			}
			return os.Truncate(payload(dir, "dump.sql"), fi.Size()/2)
		}},
	} {
		dir := bkCopyImage(t, tc.img)
		if err := tc.damage(dir); err != nil {
			t.Fatal(err)
		}
		_, err := backup.Restore(ctx, dir, backup.Target{Server: fresh}, backup.RestoreOptions{})
		if err == nil || !errors.Is(err, backup.ErrCorrupt) || !strings.Contains(err.Error(), "image "+dir) ||
			!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "the target was not touched") {
			t.Errorf("%s: Restore = %v; want ErrCorrupt naming %s and %q", tc.name, err, dir, tc.want)
		} else {
			t.Logf("%s: %v", tc.name, err)
			bkNoSecrets(t, err, c.a, c.b)
		}
		if after := backuptest.State(t, fresh); after != before {
			t.Errorf("%s: target changed: %s, was %s", tc.name, after, before)
		}
	}
	dir := bkCopyImage(t, physical)
	if err := bkFlip(payload(dir, "ibdata1")); err != nil {
		t.Fatal(err)
	}
	db4, pid, stops := c.db["db4"], c.ctl.Pid(), c.ctl.Stops
	before = backuptest.State(t, db4)
	_, err := backup.Restore(ctx, dir, backup.Target{Server: db4, Controller: c.ctl}, backup.RestoreOptions{})
	if err == nil || !errors.Is(err, backup.ErrCorrupt) || !strings.Contains(err.Error(), "payload/ibdata1: SHA-256") {
		t.Errorf("physical, flipped byte: Restore = %v", err)
	} else {
		t.Logf("physical, flipped byte: %v", err)
	}
	if c.ctl.Stops != stops || c.ctl.Pid() != pid || backuptest.State(t, db4) != before {
		t.Errorf("physical: target touched (stops %d→%d, pid %d→%d)", stops, c.ctl.Stops, pid, c.ctl.Pid())
	}
}

// bkFlip inverts one bit in the middle of a file.
func bkFlip(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[len(b)/2] ^= 0x10
	return os.WriteFile(path, b, 0o640)
}

// physicalUndone breaks a physical restore in its two risky steps and
// checks that db4 ends up running on its previous datadir.
func (c *backupCluster) physicalUndone(t *testing.T, physical string) {
	ctx := bkCtx(t)
	db4 := c.db["db4"]
	datadir := filepath.Clean(backuptest.Variable(t, db4, "datadir"))
	before := backuptest.State(t, db4)
	olds, _ := filepath.Glob(datadir + ".old-*")

	// A copy-back that dies half-way, after writing into the new directory.
	fake := filepath.Join(t.TempDir(), "mariadb-backup")
	script := "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in --datadir=*) d=${a#--datadir=};; --copy-back) cb=1;; esac; done\n" +
		"if [ -n \"$cb\" ]; then mkdir -p \"$d\" && echo partial > \"$d/ibdata1\"; echo 'simulated: No space left on device' >&2; exit 1; fi\n" +
		"exec /usr/bin/mariadb-backup \"$@\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := backup.Restore(ctx, physical, backup.Target{Server: db4, Controller: c.ctl},
		backup.RestoreOptions{Tools: backup.Tools{Backup: fake}})
	for _, want := range []string{db4.String(), "copy-back", "No space left", "the target runs as it was"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("failed copy-back: error %v lacks %q", err, want)
		}
	}
	t.Logf("failed copy-back: %v", err)
	if left, _ := filepath.Glob(datadir + ".restore-*"); len(left) > 0 || c.ctl.Pid() == 0 || backuptest.State(t, db4) != before {
		t.Errorf("after a failed copy-back: left %v, pid %d, state %s (was %s)", left, c.ctl.Pid(), backuptest.State(t, db4), before)
	}

	// A server that will not start on the restored datadir.
	c.ctl.FailStarts(1)
	_, err = backup.Restore(ctx, physical, backup.Target{Server: db4, Controller: c.ctl}, backup.RestoreOptions{})
	for _, want := range []string{"start on the restored datadir", "previous datadir is back and the server runs on it"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("failed start: error %v lacks %q", err, want)
		}
	}
	t.Logf("failed start: %v", err)
	failed, _ := filepath.Glob(datadir + ".failed-*")
	now, _ := filepath.Glob(datadir + ".old-*")
	if len(failed) != 1 || len(now) != len(olds) || c.ctl.Pid() == 0 || backuptest.State(t, db4) != before {
		t.Errorf("after a failed start: failed %v, old %v (was %v), pid %d, state %s (was %s)",
			failed, now, olds, c.ctl.Pid(), backuptest.State(t, db4), before)
	}
}
