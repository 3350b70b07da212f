package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/backup/backuptest"
	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/machine/sshdtest"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// sshCluster is sandbox A (db1 primary, db2 its replica) with data, a
// fresh one-server sandbox B, and an sshd on 127.0.0.1 through which
// db2's and B's servers have machines: the servers run here, but every
// physical step must go through ssh because their machines say so.
type sshCluster struct {
	a, b      *sandbox.Sandbox
	db1, db2  *server.Server
	fresh     *server.Server // B's server, as A's admin user
	m2, mB    machine.Machine
	sshLog    string // each ssh command line, from a wrapper of the client
	remoteLog string // what the backup tool saw on the "remote" side
	wrapper   string // that tool: a script that logs, then runs mariadb-backup
	secrets   []string
	logs      strings.Builder // progress lines
}

func newSSHCluster(t *testing.T) *sshCluster {
	c := &sshCluster{a: sandboxtest.Start(t, sandbox.Options{Servers: 2})}
	c.b = sandboxtest.Start(t, sandbox.Options{Servers: 1})
	d := sshdtest.Start(t)
	dir := t.TempDir()
	c.sshLog, c.remoteLog = filepath.Join(dir, "ssh.log"), filepath.Join(dir, "remote.log")
	sshBin := writeScript(t, dir, "ssh", fmt.Sprintf("printf '%%s\\n' \"$*\" >> %s\nexec ssh \"$@\"\n", c.sshLog))
	c.wrapper = writeScript(t, dir, "mariadb-backup", fmt.Sprintf(`{
  printf 'argv: %%s\n' "$*"
  env | sed 's/^/env: /'
  for a in "$@"; do case $a in --defaults-file=*)
    f=${a#--defaults-file=}; printf 'mode: %%s\n' "$(stat -c %%a "$f")"; printf 'dir: %%s\n' "$(dirname "$f")";;
  esac; done
} >> %s
exec /usr/bin/mariadb-backup "$@"
`, c.remoteLog))
	in2, _ := c.a.Instance("db2")
	c.db1, c.db2 = connect(t, c.a, c.a.Primary()), connect(t, c.a, in2)
	// One admin account on every server, as a deployment has: the image
	// brings A's accounts to B, and the restore logs in again after the
	// restart.
	pw, err := c.a.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	backuptest.Exec(t, connect(t, c.b, c.b.Primary()), fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY '%s'", c.a.User.Name, pw))
	c.fresh = connect(t, c.a, c.b.Primary())
	c.m2 = sshMachine(t, d, sshBin, in2)
	c.mB = sshMachine(t, d, sshBin, c.b.Primary())
	for _, cr := range []sandbox.Credential{c.a.User, c.a.ReplUser, c.b.User, c.b.ReplUser} {
		pw, err := cr.Password()
		if err != nil {
			t.Fatal(err)
		}
		c.secrets = append(c.secrets, pw)
	}
	backuptest.Exec(t, c.db1, "CREATE DATABASE app", "CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, b BLOB)")
	c.write(t, 500)
	backuptest.CaughtUp(t, c.db1, c.db2)
	return c
}

// sshMachine is a process machine for in, reached through the test sshd
// with the ssh client sshBin; the server it may start is stopped by pid
// (through the machine) when the test ends, before the sshd goes.
func sshMachine(t *testing.T, d *sshdtest.SSHD, sshBin string, in sandbox.Instance) machine.Machine {
	h, err := machine.NewSSH(machine.SSHOptions{Destination: d.Destination(), Port: d.Port, Identity: d.ClientKey,
		ConfigFile: "/dev/null", Options: d.Options(), Binary: sshBin})
	if err != nil {
		t.Fatal(err)
	}
	m, err := machine.NewProcess(machine.ProcessOptions{DefaultsFile: in.DefaultsFile, Binary: in.Binary,
		ConsoleLog: filepath.Join(filepath.Dir(in.DefaultsFile), "console.log"), Host: h, Ready: answers(in.Socket)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("stop %s: %v", in.Name, err)
		}
	})
	return m
}

// answers is ready when the server answers on its socket, even with a
// refused login: a restored datadir brings the image's accounts.
func answers(socket string) machine.Ready {
	return func(ctx context.Context) error {
		cfg := gosql.NewConfig()
		cfg.User, cfg.Net, cfg.Addr, cfg.Timeout = "root", "unix", socket, 2*time.Second
		connector, err := gosql.NewConnector(cfg)
		if err != nil {
			return err
		}
		db := sql.OpenDB(connector)
		defer db.Close()
		err = db.PingContext(ctx)
		if _, refused := errors.AsType[*gosql.MySQLError](err); refused {
			return nil
		}
		return err
	}
}

// TestPhysicalThroughSSH backs up a replica whose machine is an ssh one,
// restores the image into a fresh server through its ssh machine, and
// checks that it replicates from the primary and converges. Then it
// breaks restores (a damaged image, a copy cut half-way, a server that
// will not start on the copy) and checks the target's datadir is the one
// it had.
func TestPhysicalThroughSSH(t *testing.T) {
	c := newSSHCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	procs := watchTools(t)
	img := filepath.Join(t.TempDir(), "db2")

	start := time.Now()
	m, err := Backup(ctx, c.db2, img, Options{Method: Physical, Host: c.m2, Tools: Tools{RemoteBackup: c.wrapper}, Progress: &c.logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("physical backup of db2 through ssh (stream+prepare): %v, %.1f MiB, %d files",
		time.Since(start).Round(time.Millisecond), float64(m.Size)/(1<<20), len(m.Files))
	if want := backuptest.Variable(t, c.db1, "gtid_binlog_pos"); m.GTID != want || !strings.HasPrefix(m.Tool, "mariadb-backup 10.") {
		t.Errorf("manifest: gtid %q tool %q; want gtid %q", m.GTID, m.Tool, want)
	}
	c.checkBackupWentThroughSSH(t, *procs)
	start = time.Now()
	if _, err := Backup(ctx, c.db2, filepath.Join(t.TempDir(), "local"), Options{Method: Physical}); err != nil {
		t.Fatal(err)
	}
	t.Logf("for comparison, the local physical backup of db2: %v", time.Since(start).Round(time.Millisecond))
	c.write(t, 100) // after the image: must come through replication

	datadir := filepath.Clean(backuptest.Variable(t, c.fresh, "datadir"))
	*procs = nil
	start = time.Now()
	r, err := Restore(ctx, img, Target{Server: c.fresh, Controller: timed{c.mB, t}, Host: c.mB}, RestoreOptions{Progress: &c.logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("physical restore into B through ssh (stop, stream, swap, start): %v", time.Since(start).Round(time.Millisecond))
	for _, s := range *procs {
		if strings.Contains(s.args, "--copy-back") {
			t.Errorf("a local copy-back ran for a target with an ssh machine: %s", s.args)
		}
	}
	if !strings.HasPrefix(r.OldDataDir, datadir+".old-") {
		t.Errorf("old datadir %q is not next to %s", r.OldDataDir, datadir)
	}
	if _, err := os.Stat(filepath.Join(r.OldDataDir, "mysql-bin.index")); err != nil {
		t.Errorf("previous datadir not kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(datadir, "xtrabackup_checkpoints")); !os.IsNotExist(err) {
		t.Errorf("the tool's metadata was copied into the datadir (copy-back leaves it out): %v", err)
	}
	restored := c.fresh
	if n := backuptest.Rows(t, restored); n != 500 {
		t.Errorf("%d rows after restore, want 500", n)
	}
	if pos := backuptest.Variable(t, restored, "gtid_slave_pos"); pos != m.GTID {
		t.Errorf("gtid_slave_pos %q, want the image's %q", pos, m.GTID)
	}
	c.replicateAndConverge(t, restored, 700)
	c.checkSecrets(t)

	t.Run("failures leave the datadir as it was", func(t *testing.T) { c.failedRestores(t, img, restored, datadir) })
	t.Logf("progress lines:\n%s", c.logs.String())
}

// checkBackupWentThroughSSH: the copy ran on the far side of ssh with an
// option file that is 0600 and gone; here only the extractor and
// --prepare ran.
func (c *sshCluster) checkBackupWentThroughSSH(t *testing.T, procs []seen) {
	t.Helper()
	for _, s := range procs {
		if strings.Contains(s.args, "--backup") {
			t.Errorf("a local backup tool ran for a source with an ssh machine: %s", s.args)
		}
	}
	ssh, _ := os.ReadFile(c.sshLog)
	if !strings.Contains(string(ssh), "--backup --stream=mbstream") {
		t.Errorf("no ssh command ran the backup:\n%s", ssh)
	}
	remote, _ := os.ReadFile(c.remoteLog)
	if !strings.Contains(string(remote), "mode: 600\n") {
		t.Errorf("the tool's option file is not 0600:\n%s", remote)
	}
	for _, line := range strings.Split(string(remote), "\n") {
		if dir, ok := strings.CutPrefix(line, "dir: "); ok {
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the option file's directory %s is still there: %v", dir, err)
			}
		}
	}
}

// checkSecrets: no password in any ssh command line, nor in the remote
// tool's arguments or environment.
func (c *sshCluster) checkSecrets(t *testing.T) {
	t.Helper()
	ssh, _ := os.ReadFile(c.sshLog)
	remote, _ := os.ReadFile(c.remoteLog)
	for _, pw := range c.secrets {
		if strings.Contains(string(ssh), pw) || strings.Contains(string(remote), pw) {
			t.Error("a password reached ssh's command line or the remote tool's arguments or environment")
		}
	}
	t.Logf("%d ssh commands", strings.Count(string(ssh), "\n"))
}

// replicateAndConverge points sv at the primary by GTID, then checks it
// converges.
func (c *sshCluster) replicateAndConverge(t *testing.T, sv *server.Server, rows int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pw, _ := c.a.ReplUser.Password()
	repl := flavor.ChangeSourceOptions{Host: "127.0.0.1", Port: c.a.Primary().Port, User: c.a.ReplUser.Name,
		Password: pw, GTID: flavor.GTIDAutoPosition}
	if err := sv.ChangeSource(ctx, repl); err != nil {
		t.Fatal(err)
	}
	c.converge(t, sv, rows)
}

// converge (re)starts replication on sv, writes 100 rows on the primary,
// and checks rows and GTID positions match the primary's.
func (c *sshCluster) converge(t *testing.T, sv *server.Server, rows int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// B's option file gives it server_id 1 at every start, A's primary's:
	// a replica skips events that carry its own server_id.
	if err := sv.StopReplica(ctx, flavor.BothThreads); err != nil {
		t.Fatal(err)
	}
	backuptest.Exec(t, sv, "SET GLOBAL server_id = 11")
	if err := sv.StartReplica(ctx, flavor.BothThreads); err != nil {
		t.Fatal(err)
	}
	c.write(t, 100)
	backuptest.CaughtUp(t, c.db1, sv)
	if got, want := backuptest.Rows(t, sv), backuptest.Rows(t, c.db1); got != want || got != rows {
		t.Errorf("%s: %d rows, primary %d, want %d", sv, got, want, rows)
	}
	primary := backuptest.Variable(t, c.db1, "gtid_binlog_pos")
	for _, v := range []string{"gtid_current_pos", "gtid_slave_pos"} {
		if got := backuptest.Variable(t, sv, v); got != primary {
			t.Errorf("%s: %s %q, primary's gtid_binlog_pos %q", sv, v, got, primary)
		}
	}
}

// failedRestores breaks three restores of img into sv (B's server, whose
// machine is mB) and checks each time that the datadir is the same
// directory (inode) with the same data, the server runs, and no copy is
// left behind.
func (c *sshCluster) failedRestores(t *testing.T, img string, sv *server.Server, datadir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	before, ino := backuptest.State(t, sv), inode(t, datadir)
	same := func(step string) {
		t.Helper()
		if got := backuptest.State(t, sv); got != before {
			t.Errorf("%s: target changed: %s, was %s", step, got, before)
		}
		if got := inode(t, datadir); got != ino {
			t.Errorf("%s: %s is another directory now (inode %d, was %d)", step, datadir, got, ino)
		}
		if left, _ := filepath.Glob(datadir + ".restore-*"); len(left) > 0 {
			t.Errorf("%s: partial copy left: %v", step, left)
		}
	}

	damaged := filepath.Join(t.TempDir(), "damaged")
	if out, err := exec.Command("cp", "-a", img, damaged).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	flip(t, filepath.Join(damaged, PayloadDir, "ibdata1"))
	_, err := Restore(ctx, damaged, Target{Server: sv, Controller: c.mB, Host: c.mB}, RestoreOptions{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "the target was not touched") {
		t.Errorf("damaged image: %v; want ErrCorrupt", err)
	}
	t.Logf("damaged image: %v", err)
	same("damaged image")

	// The connection drops after 1 MiB of the copy.
	cut := &cutStream{Machine: c.mB, after: 1 << 20}
	_, err = Restore(ctx, img, Target{Server: sv, Controller: c.mB, Host: cut}, RestoreOptions{})
	for _, want := range []string{"copy: ", "tar -x -p --no-same-owner -f - -C " + datadir + ".restore-",
		"reading its input: connection lost (test)", "the target runs as it was"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("cut copy: error %v lacks %q", err, want)
		}
	}
	t.Logf("cut copy: %v", err)
	same("cut copy")

	failed, _ := filepath.Glob(datadir + ".failed-*")
	refuse := &refusingStart{Machine: c.mB, n: 1}
	_, err = Restore(ctx, img, Target{Server: sv, Controller: refuse, Host: c.mB}, RestoreOptions{})
	for _, want := range []string{"start on the restored datadir", "previous datadir is back and the server runs on it"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("refused start: error %v lacks %q", err, want)
		}
	}
	t.Logf("refused start: %v", err)
	same("refused start")
	if now, _ := filepath.Glob(datadir + ".failed-*"); len(now) != len(failed)+1 {
		t.Errorf("the copy the server would not start on is not kept aside: %v", now)
	}
	// Back on its previous datadir, it still replicates.
	c.converge(t, sv, backuptest.Rows(t, c.db1)+100)
}

// cutStream fails the input of every stream after some bytes, as a
// dropped connection would.
type cutStream struct {
	machine.Machine
	after int64
}

func (c *cutStream) RunStream(ctx context.Context, argv []string, stdin io.Reader, stdout io.Writer) error {
	if stdin != nil {
		stdin = io.MultiReader(io.LimitReader(stdin, c.after), errReader{errors.New("connection lost (test)")})
	}
	return c.Machine.RunStream(ctx, argv, stdin, stdout)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// timed logs how long stopping and starting take.
type timed struct {
	machine.Machine
	t *testing.T
}

func (m timed) Stop(ctx context.Context) error {
	start := time.Now()
	err := m.Machine.Stop(ctx)
	m.t.Logf("%s: stopped in %s", m.Machine, time.Since(start).Round(time.Millisecond))
	return err
}

func (m timed) Start(ctx context.Context) error {
	start := time.Now()
	err := m.Machine.Start(ctx)
	m.t.Logf("%s: started in %s", m.Machine, time.Since(start).Round(time.Millisecond))
	return err
}

// refusingStart fails its first n starts without starting the server.
type refusingStart struct {
	machine.Machine
	n int
}

func (r *refusingStart) Start(ctx context.Context) error {
	if r.n > 0 {
		r.n--
		return errors.New("start refused by the test")
	}
	return r.Machine.Start(ctx)
}

func (c *sshCluster) write(t *testing.T, n int) {
	backuptest.Exec(t, c.db1, fmt.Sprintf("INSERT INTO app.t (b) SELECT UNHEX('00FF5C27220A0D1A') FROM app.seq_1_to_%d", n))
}

// TestBackupThroughSSHFailures: a remote tool of another release is
// refused before anything runs; a remote tool that fails quotes its
// stderr, and leaves neither the image nor the option file behind.
func TestBackupThroughSSHFailures(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	d := sshdtest.Start(t)
	in := sb.Primary()
	src := connect(t, sb, in)
	m := sshMachine(t, d, "ssh", in)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	seenDirs := filepath.Join(dir, "dirs")

	old := writeScript(t, dir, "old-backup", "echo 'mariadb-backup based on MariaDB server 10.6.21-MariaDB debian-linux-gnu (x86_64)' >&2\n")
	failing := writeScript(t, dir, "failing-backup", fmt.Sprintf(`case "$1" in --version) exec /usr/bin/mariadb-backup --version;; esac
for a in "$@"; do case $a in --defaults-file=*) f=${a#--defaults-file=}; dirname "$f" >> %s;; esac; done
echo '[00] Connecting to MariaDB server host: localhost' >&2
echo 'Got error: 1045: Access denied (simulated)' >&2
exit 1
`, seenDirs))
	for _, tc := range []struct {
		name, tool string
		want       []string
	}{
		{"missing", "/nonexistent/mariadb-backup", []string{"none of /nonexistent/mariadb-backup found on ", "give its path"}},
		{"another release", old, []string{"on " + m.String() + ": ", "old-backup 10.6.21-MariaDB cannot copy a mariadb 10.11"}},
		{"failing", failing, []string{"--backup --stream=mbstream", "exit status 1", "Access denied (simulated)"}},
	} {
		img := filepath.Join(dir, tc.name)
		_, err := Backup(ctx, src, img, Options{Method: Physical, Host: m, Tools: Tools{RemoteBackup: tc.tool}})
		for _, want := range append(tc.want, src.String()+": backup: ") {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v lacks %q", tc.name, err, want)
			}
		}
		t.Logf("%s: %v", tc.name, err)
		if _, err := os.Stat(img); !os.IsNotExist(err) {
			t.Errorf("%s: the failed backup left %s: %v", tc.name, img, err)
		}
	}
	b, err := os.ReadFile(seenDirs)
	if err != nil || len(b) == 0 {
		t.Fatalf("the failing tool saw no option file: %v", err)
	}
	for _, d := range strings.Fields(string(b)) {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("the option file's directory %s outlived the failed backup: %v", d, err)
		}
	}
}
