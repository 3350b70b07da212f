package sandbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func TestMain(m *testing.M) { sandboxtest.Main(m) }

func open(t testing.TB, in sandbox.Instance, c sandbox.Credential) *sql.DB {
	t.Helper()
	dsn, err := in.DSN(c)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// waitGTID waits until replica has applied what the primary wrote so far.
func waitGTID(t testing.TB, sb *sandbox.Sandbox, replica sandbox.Instance) {
	t.Helper()
	var pos string
	if err := open(t, sb.Primary(), sb.User).QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	var res int
	if err := open(t, replica, sb.User).QueryRow("SELECT MASTER_GTID_WAIT(?, 30)", pos).Scan(&res); err != nil || res != 0 {
		t.Fatalf("%s: master_gtid_wait(%s) = %d, %v", replica, pos, res, err)
	}
}

func TestUpReplicatesAndFences(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t, sandbox.Options{})
	if len(sb.Instances) != 3 || len(sb.Replicas()) != 2 || sb.Primary().Name != "db1" {
		t.Fatalf("want db1 primary and 2 replicas, got %+v", sb.Instances)
	}
	primary := open(t, sb.Primary(), sb.AppUser)
	exec(t, primary, "CREATE DATABASE shop")
	exec(t, primary, "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20))")
	exec(t, primary, "INSERT INTO shop.items VALUES (1, 'apple'), (2, 'pear')")

	for _, r := range sb.Replicas() {
		waitGTID(t, sb, r)
		db := open(t, r, sb.AppUser)
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM shop.items").Scan(&n); err != nil || n != 2 {
			t.Errorf("%s: %d rows, %v; want 2", r, n, err)
		}
		var ro int
		if err := db.QueryRow("SELECT @@read_only").Scan(&ro); err != nil || ro != 1 {
			t.Errorf("%s: read_only = %d, %v; want 1", r, ro, err)
		}
		// An ordinary account is fenced by read_only: error 1290.
		_, err := db.Exec("INSERT INTO shop.items VALUES (3, 'fig')")
		var me *gosql.MySQLError
		if !errors.As(err, &me) || me.Number != 1290 {
			t.Errorf("%s: app insert on a replica: %v; want error 1290", r, err)
		}
	}
	var ro int
	if err := primary.QueryRow("SELECT @@read_only").Scan(&ro); err != nil || ro != 0 {
		t.Errorf("primary read_only = %d, %v; want 0", ro, err)
	}
}

// Also: a directory too long for socket paths puts the sockets in a short
// directory of their own, which goes away with the sandbox.
func TestAppUserHasNoAdminPrivilegesLongDir(t *testing.T) {
	t.Parallel()
	var sockDir string
	t.Cleanup(func() { // runs after sandboxtest's own cleanup
		if _, err := os.Stat(sockDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket directory %q left behind: %v", sockDir, err)
		}
	})
	dir := filepath.Join(t.TempDir(), strings.Repeat("long-", 20))
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1, Dir: dir})
	sockDir = sb.SocketDir
	if sockDir == "" || filepath.Dir(sb.Primary().Socket) != sockDir || len(sb.Primary().Socket) > 107 {
		t.Errorf("socket %s, socket dir %q: want a short path outside %s", sb.Primary().Socket, sockDir, dir)
	}
	db := open(t, sb.Primary(), sb.AppUser)
	_, err := db.Exec("SET GLOBAL read_only = 1")
	var me *gosql.MySQLError
	if !errors.As(err, &me) || me.Number != 1227 {
		t.Errorf("app SET GLOBAL read_only: %v; want error 1227 (access denied)", err)
	}
	// The anonymous accounts are gone, and root has no TCP account.
	var anon int
	if err := open(t, sb.Primary(), sb.User).QueryRow(
		"SELECT COUNT(*) FROM mysql.user WHERE User='' OR (User='root' AND Host<>'localhost')").Scan(&anon); err != nil || anon != 0 {
		t.Errorf("anonymous or TCP root accounts: %d, %v; want 0", anon, err)
	}
}

func TestFilesAndSecrets(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	var secrets []string
	for _, c := range []sandbox.Credential{sb.User, sb.ReplUser, sb.AppUser} {
		fi, err := os.Stat(c.PasswordFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", c.PasswordFile, fi.Mode().Perm(), err)
		}
		pw, err := c.Password()
		if err != nil || len(pw) < 20 {
			t.Fatalf("password of %s: %d characters, %v", c.Name, len(pw), err)
		}
		secrets = append(secrets, pw)
	}
	dep, err := os.ReadFile(sb.DeploymentPath)
	if err != nil {
		t.Fatal(err)
	}
	// sandboxtest writes machines too: the line goes on after the port.
	want := fmt.Sprintf("    db2 = { host = \"127.0.0.1\", port = %d,\n      machine = { defaults_file = %q,",
		sb.Instances[1].Port, sb.Instances[1].DefaultsFile)
	if !strings.Contains(string(dep), want) ||
		!strings.Contains(string(dep), `repl_user = { name = "repl", password = file "`+sb.ReplUser.PasswordFile+`" }`) {
		t.Errorf("deployment.lua:\n%s\nwant a line %q", dep, want)
	}
	// No password in any file of the sandbox but its own secret file.
	filepath.WalkDir(sb.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".pw") || strings.Contains(p, "/data/") {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds a password", p)
			}
		}
		return nil
	})
}

func TestStatusDownRemove(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	ctx := context.Background()
	st, err := sandbox.Status(ctx, sb.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range st {
		wantRole, wantRO := sandbox.RoleReplica, true
		if i == 0 {
			wantRole, wantRO = sandbox.RolePrimary, false
		}
		if !s.Running || !s.Answering || s.Role != wantRole || s.ReadOnly != wantRO || s.Err != nil ||
			(wantRole == sandbox.RoleReplica && (!s.Replicating() || s.SourcePort != sb.Primary().Port)) {
			t.Errorf("status %+v; want up, answering, %s, read_only=%v", s, wantRole, wantRO)
		}
	}

	if _, err := sandbox.Up(ctx, sandbox.Options{Dir: sb.Dir}); !errors.Is(err, sandbox.ErrAlreadyRunning) {
		t.Errorf("second Up on a running sandbox: %v; want ErrAlreadyRunning", err)
	}
	if err := sandbox.Remove(sb.Dir); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Errorf("Remove of a running sandbox: %v; want a refusal", err)
	}

	for range 2 { // the second Down finds nothing to stop
		if err := sandbox.Down(ctx, sb.Dir); err != nil {
			t.Fatalf("Down: %v", err)
		}
	}
	for _, in := range sb.Instances {
		if alive(in.Pid) {
			t.Errorf("%s: pid %d still alive after Down", in.Name, in.Pid)
		}
	}
	st, err = sandbox.Status(ctx, sb.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Running || s.Answering || s.Err == nil {
			t.Errorf("status after Down: %+v; want down with an error", s)
		}
	}
	if err := sandbox.Remove(sb.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sb.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Remove: %v", sb.Dir, err)
	}
	if err := sandbox.Remove(sb.Dir); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

// alive is true while pid exists and is not a zombie. The test's servers
// are children reaped by the sandbox, so a stopped one vanishes quickly.
func alive(pid int) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && b[i+2] == 'Z' {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func TestParallelSandboxesCoexist(t *testing.T) {
	t.Parallel()
	sbs := make(chan *sandbox.Sandbox, 2)
	t.Run("group", func(t *testing.T) {
		for _, name := range []string{"a", "b"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
				db := open(t, sb.Primary(), sb.AppUser)
				exec(t, db, "CREATE DATABASE only_"+name)
				waitGTID(t, sb, sb.Replicas()[0])
				var n int
				if err := open(t, sb.Replicas()[0], sb.AppUser).QueryRow(
					"SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'only\\_%'").Scan(&n); err != nil || n != 1 {
					t.Errorf("sandbox %s sees %d only_* databases, %v; want its own only", name, n, err)
				}
				sbs <- sb
			})
		}
	})
	close(sbs)
	ports := map[int]bool{}
	for sb := range sbs {
		for _, in := range sb.Instances {
			if ports[in.Port] {
				t.Errorf("port %d used twice", in.Port)
			}
			ports[in.Port] = true
		}
	}
}

func TestNoBinary(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no", "mariadbd")
	_, err := sandbox.Up(context.Background(), sandbox.Options{Dir: t.TempDir(), Binary: missing})
	if !errors.Is(err, sandbox.ErrNoServerBinary) || !strings.Contains(err.Error(), "apt-get install mariadb-server") ||
		!strings.Contains(err.Error(), missing) {
		t.Errorf("Up with %s: %v; want ErrNoServerBinary naming it and the install hint", missing, err)
	}
}

// upHelperEnv names the directory TestDownAfterUpExited's child process
// brings a sandbox up in, as `replicant-lua sandbox up` does, then exits.
const upHelperEnv = "SANDBOX_TEST_UP_DIR"

// Down, Status and Remove from another process, once the process that ran
// Up (with Detach, as the CLI does) has exited: the servers are found from
// their option and pid files.
func TestDownAfterUpExited(t *testing.T) {
	if dir := os.Getenv(upHelperEnv); dir != "" {
		_, err := sandbox.Up(context.Background(), sandbox.Options{Dir: dir, Servers: 2, Detach: true,
			Template: os.Getenv(upHelperEnv + "_TEMPLATE")})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Parallel()
	bin, err := sandbox.FindBinary("")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	t.Cleanup(func() { sandbox.Down(context.Background(), dir) })
	cmd := osexec.Command(os.Args[0], "-test.run=^TestDownAfterUpExited$", "-test.count=1")
	cmd.Env = append(os.Environ(), upHelperEnv+"="+dir, upHelperEnv+"_TEMPLATE="+sandboxtest.Template(t, bin))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sandbox up in a child process: %v\n%s", err, out)
	}
	ctx := context.Background()
	sb, err := sandbox.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sandbox.Status(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range st {
		if !s.Running || !s.Answering || s.Pid != sb.Instances[i].Pid || s.Pid == 0 {
			t.Errorf("status %+v; want running and answering as pid %d", s, sb.Instances[i].Pid)
		}
	}
	if err := sandbox.Down(ctx, dir); err != nil {
		t.Fatal(err)
	}
	for _, in := range sb.Instances {
		if alive(in.Pid) {
			t.Errorf("%s: pid %d still alive after Down", in.Name, in.Pid)
		}
	}
	if err := sandbox.Remove(dir); err != nil {
		t.Fatal(err)
	}
}

// The roles layer restarts servers through Machine: a stopped primary is
// seen down by Status, and once started again its replicas reconnect.
func TestMachineRestartsAServer(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := sb.Machine("db1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Machine("db9"); err == nil {
		t.Error("Machine(db9) of a 2-server sandbox: no error")
	}
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := sandbox.Status(ctx, sb.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Running || st[0].Answering || !st[1].Running {
		t.Errorf("status after stopping db1: %+v", st)
	}
	// From a loaded sandbox too, as another process would.
	loaded, err := sandbox.Load(sb.Dir)
	if err != nil {
		t.Fatal(err)
	}
	lm, err := loaded.Machine("db1")
	if err != nil {
		t.Fatal(err)
	}
	if err := lm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Detached this time, as a loaded sandbox's servers are: sandboxtest's
	// cleanup stops it by its pid file all the same.
	exec(t, open(t, sb.Primary(), sb.AppUser), "CREATE DATABASE after_restart")
	waitGTID(t, sb, sb.Replicas()[0])
	st, err = sandbox.Status(ctx, sb.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !st[0].Running || !st[0].Answering || st[0].Pid == sb.Primary().Pid || !st[1].Replicating() {
		t.Errorf("status after starting db1 again: %+v; want it up with a new pid, db2 replicating", st)
	}
}

// One server stopped, started and restarted on its own: the recorded pid
// follows, status shows no pid and no role while it is down, and its
// replicas report their receiver as the server says it (Connecting).
func TestControlOneServer(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	ctx := context.Background()
	in, err := sandbox.Control(ctx, sb.Dir, "db1", sandbox.ActionStop)
	if err != nil || in.Pid != 0 || alive(sb.Primary().Pid) {
		t.Fatalf("stop db1: %+v, %v; old pid alive %v", in, err, alive(sb.Primary().Pid))
	}
	st, err := sandbox.Status(ctx, sb.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Running || st[0].Pid != 0 || st[0].Role != "" {
		t.Errorf("db1 down: %+v; want no pid and no role", st[0])
	}
	if st[1].IOState != "Connecting" && st[1].IOState != "No" {
		t.Errorf("db2 with db1 down: io %q", st[1].IOState)
	}
	if in, err = sandbox.Control(ctx, sb.Dir, "db1", sandbox.ActionStart); err != nil || in.Pid == 0 || !alive(in.Pid) {
		t.Fatalf("start db1: %+v, %v", in, err)
	}
	before := in.Pid
	if in, err = sandbox.Control(ctx, sb.Dir, "db1", sandbox.ActionRestart); err != nil || in.Pid == before || !alive(in.Pid) {
		t.Fatalf("restart db1: %+v (pid before %d), %v", in, before, err)
	}
	t.Cleanup(func() { _ = sandbox.Down(context.Background(), sb.Dir) })
	loaded, err := sandbox.Load(sb.Dir)
	if err != nil || loaded.Primary().Pid != in.Pid {
		t.Errorf("sandbox.json pid %d, want %d (%v)", loaded.Primary().Pid, in.Pid, err)
	}
	if _, err := sandbox.Control(ctx, sb.Dir, "db9", sandbox.ActionStop); err == nil || !strings.Contains(err.Error(), `no server "db9"`) {
		t.Errorf("unknown server: %v", err)
	}
}

// sandbox add: a replicating server follows the current primary (db2,
// after the roles changed) with its data; an empty one has none; both are
// in deployment.lua and sandbox.json with fresh server_ids.
func TestAddServers(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	ctx := context.Background()
	t.Cleanup(func() { _ = sandbox.Down(context.Background(), sb.Dir) })
	db1 := tool(t, sb, sb.Instances[0])
	if _, err := db1.Exec(ctx, "CREATE DATABASE added"); err != nil {
		t.Fatal(err)
	}
	got, err := sandbox.Add(ctx, sb.Dir, sandbox.AddOptions{})
	if err != nil || len(got) != 1 || got[0].Name != "db3" || got[0].ServerID != 3 || !alive(got[0].Pid) {
		t.Fatalf("add: %+v, %v", got, err)
	}
	db3 := tool(t, sb, got[0])
	st, err := db3.ReplicaStatus(ctx)
	if err != nil || st == nil || st.SourcePort != sb.Instances[0].Port || !st.IORunning || !st.SQLRunning {
		t.Errorf("db3 replica status %+v, %v; want replicating from db1", st, err)
	}
	if res, err := db3.Query(ctx, "SHOW DATABASES LIKE 'added'"); err != nil || len(res.Rows) != 1 {
		t.Errorf("db3 lacks the primary's database: %v", err)
	}
	empty, err := sandbox.Add(ctx, sb.Dir, sandbox.AddOptions{Empty: true})
	if err != nil || len(empty) != 1 || empty[0].Name != "db4" || empty[0].ServerID != 4 {
		t.Fatalf("add --empty: %+v, %v", empty, err)
	}
	if st, err := tool(t, sb, empty[0]).ReplicaStatus(ctx); err != nil || st != nil {
		t.Errorf("db4: replica status %+v, %v; want none", st, err)
	}
	dep, _ := os.ReadFile(sb.DeploymentPath)
	loaded, err := sandbox.Load(sb.Dir)
	if err != nil || len(loaded.Instances) != 4 || !strings.Contains(string(dep), "db3 = {") || !strings.Contains(string(dep), "db4 = {") {
		t.Errorf("state: %v instances, %v; deployment:\n%s", len(loaded.Instances), err, dep)
	}
	// db1 has replicas: refused; db4 goes, with its directory.
	if err := sandbox.RemoveServer(ctx, sb.Dir, "db1"); err == nil || !strings.Contains(err.Error(), "replicates from db1") {
		t.Errorf("remove db1: %v; want a refusal naming its replica", err)
	}
	if err := sandbox.RemoveServer(ctx, sb.Dir, "db4"); err != nil {
		t.Fatal(err)
	}
	dep, _ = os.ReadFile(sb.DeploymentPath)
	loaded, _ = sandbox.Load(sb.Dir)
	if _, err := os.Stat(filepath.Join(sb.Dir, "db4")); !os.IsNotExist(err) || len(loaded.Instances) != 3 ||
		strings.Contains(string(dep), "db4 = {") || alive(empty[0].Pid) {
		t.Errorf("db4 not removed: dir %v, %d instances, deployment:\n%s", err, len(loaded.Instances), dep)
	}
}

// tool connects to in as the sandbox's tool account, through the server
// package, as a playbook would.
func tool(t *testing.T, sb *sandbox.Sandbox, in sandbox.Instance) *server.Server {
	t.Helper()
	cfg, err := sb.ServerConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Close() })
	return sv
}
