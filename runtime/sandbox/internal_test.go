package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/mycnf"
)

func TestLuaQuote(t *testing.T) {
	for in, want := range map[string]string{
		`/a/b.pw`:     `"/a/b.pw"`,
		`a"b\c`:       `"a\"b\\c"`,
		"x\ny\x01":    `"x\ny\001"`,
		"café/ü.pw":   `"café/ü.pw"`,
		"":            `""`,
		"tab\there\r": `"tab\009here\013"`,
	} {
		if got := luaQuote(in); got != want {
			t.Errorf("luaQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestOptionFile(t *testing.T) {
	in := Instance{Name: "db2", Port: 23307, Socket: "/s/db2.sock", DataDir: "/d/db2/data", TmpDir: "/d/db2/tmp",
		DefaultsFile: "/d/db2/my.cnf", ErrorLog: "/d/db2/error.log", ServerID: 2, Role: RoleReplica, Binary: "/usr/sbin/mariadbd"}
	f, err := optionFile(in, "db1", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := string(f.Bytes())
	for _, want := range []string{
		"\n[mysqld]\n", "\ndatadir = /d/db2/data\n", "\nport = 23307\n",
		"\nserver-id = 2\n", "\nreport-port = 23307\n", "\nread-only = 1\n",
		"\nlog-slave-updates\n", "\ngtid-strict-mode = 1\n", "\nbind-address = 127.0.0.1\n",
		"\npid-file = /d/db2/mysqld.pid\n", "\nlog-error = /d/db2/error.log\n",
		"started as a replica of db1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("option file lacks %q:\n%s", want, got)
		}
	}
	// What an operator's editor reads back is what the sandbox meant.
	back, err := mycnf.Parse(strings.NewReader(got), "my.cnf")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := back.Get("mysqld", "socket"); !ok || o.Value != in.Socket {
		t.Errorf("socket read back as %+v, %v", o, ok)
	}
	in.Role = RolePrimary
	f, err = optionFile(in, "db1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(f.Bytes()), "read-only") {
		t.Error("the primary's option file sets read-only")
	}
	if strings.Contains(string(f.Bytes()), "ssl") {
		t.Error("an option file without TLS sets ssl options")
	}
	tls := &TLSFiles{CA: "/d/tls/ca.pem", ServerCert: "/d/tls/server-cert.pem", ServerKey: "/d/tls/server-key.pem"}
	if f, err = optionFile(in, "db1", tls); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nssl-ca = /d/tls/ca.pem\n", "\nssl-cert = /d/tls/server-cert.pem\n", "\nssl-key = /d/tls/server-key.pem\n"} {
		if !strings.Contains(string(f.Bytes()), want) {
			t.Errorf("option file with TLS lacks %q:\n%s", want, f.Bytes())
		}
	}
	// A newline in a path stays in its comment.
	in.Binary = "/opt/x\n[client]\npassword = p\n"
	f, err = optionFile(in, "db1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := mycnf.Parse(strings.NewReader(string(f.Bytes())), "my.cnf"); len(f.Sections()) != 1 {
		t.Errorf("a binary path with newlines added sections %q", f.Sections())
	}
}

// A pid file and a recorded pid that now belong to another program (pids
// are recycled) are never signalled: Down, Status and Remove see a stopped
// sandbox. Only my_print_defaults is needed, not a server.
func TestStalePidNeverSignalled(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("my_print_defaults"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	pid := other.Process.Pid

	in := Instance{Name: "db1", Port: 1, Socket: filepath.Join(dir, "db1", "mysqld.sock"), DataDir: filepath.Join(dir, "db1", "data"),
		TmpDir: filepath.Join(dir, "db1", "tmp"), DefaultsFile: filepath.Join(dir, "db1", "my.cnf"),
		ErrorLog: filepath.Join(dir, "db1", "error.log"), ServerID: 1, Role: RolePrimary, Binary: "/usr/sbin/mariadbd", Pid: pid}
	if err := os.MkdirAll(filepath.Dir(in.DefaultsFile), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := optionFile(in, "db1", nil)
	if err == nil {
		err = f.Save(in.DefaultsFile)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "db1", "mysqld.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &Sandbox{Dir: dir, Instances: []Instance{in}}
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if err := Down(ctx, dir); err != nil {
			t.Fatalf("Down: %v", err)
		}
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("pid %d (sleep) was signalled: %v", pid, err)
	}
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Instances[0].Pid != 0 {
		t.Errorf("recorded pid after Down: %d; want 0", loaded.Instances[0].Pid)
	}
	if up, err := loaded.running(ctx); len(up) != 0 || err != nil {
		t.Errorf("running: %+v, %v; want none", up, err)
	}
	if err := Remove(dir); err != nil {
		t.Errorf("Remove: %v", err)
	}
}

func TestDeploymentMachines(t *testing.T) {
	s := &Sandbox{User: Credential{Name: "u", PasswordFile: "/d/secrets/u.pw"}, ReplUser: Credential{Name: "r", PasswordFile: "/d/secrets/r.pw"},
		Instances: []Instance{{Name: "db1", Port: 3307, DefaultsFile: "/d/db1/my.cnf", Binary: "/usr/sbin/mariadbd"}}}
	if got := deploymentLua(s, false); !strings.Contains(got, "    db1 = { host = \"127.0.0.1\", port = 3307 },\n") || strings.Contains(got, "machine") {
		t.Errorf("without machines:\n%s", got)
	}
	want := "    db1 = { host = \"127.0.0.1\", port = 3307,\n" +
		"      machine = { defaults_file = \"/d/db1/my.cnf\", binary = \"/usr/sbin/mariadbd\", console_log = \"/d/db1/console.log\" } },\n"
	if got := deploymentLua(s, true); !strings.Contains(got, want) {
		t.Errorf("with machines:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(deploymentLua(s, false), "tls") {
		t.Error("a sandbox without TLS has tls in its deployment")
	}
	s.TLS = &TLSFiles{CA: "/d/tls/ca.pem"}
	if got := deploymentLua(s, false); !strings.Contains(got, "\n  tls       = { mode = \"verify\", ca = \"/d/tls/ca.pem\" },\n"+
		"  repl_tls  = { ca = \"/d/tls/ca.pem\" },\n") {
		t.Errorf("with TLS:\n%s", got)
	}
}

func TestPortClash(t *testing.T) {
	clash := &machine.StartError{Exited: true, LogTail: "[ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: Address already in use"}
	if !portClash(fmt.Errorf("db2: start: %w", clash)) {
		t.Error("a server that exited on a taken port is not a clash")
	}
	stuck := *clash
	stuck.Exited = false // stopped by us after a timeout: the port is not the reason
	if portClash(&stuck) || portClash(errors.New("Address already in use")) {
		t.Error("a clash without a StartError of an exited server")
	}
}

func TestRedact(t *testing.T) {
	if got := redact("near 'pw123' at line 1", "pw123"); got != "near '******' at line 1" {
		t.Errorf("redact = %q", got)
	}
}
