package sandbox

import (
	"os"
	"strings"
	"testing"
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
	got := optionFile(in, "db1")
	for _, want := range []string{
		"[mysqld]\n", "datadir                  = /d/db2/data\n", "port                     = 23307\n",
		"server-id                = 2\n", "report-port              = 23307\n", "read-only                = 1\n",
		"log-slave-updates\n", "gtid-strict-mode         = 1\n", "bind-address             = 127.0.0.1\n",
		"started as a replica of db1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("option file lacks %q:\n%s", want, got)
		}
	}
	in.Role = RolePrimary
	if strings.Contains(optionFile(in, "db1"), "read-only") {
		t.Error("the primary's option file sets read-only")
	}
}

func TestLastLines(t *testing.T) {
	if got := lastLines("a\nb\n\nc\nd\n\n", 3); got != "b\nc\nd" {
		t.Errorf("lastLines = %q", got)
	}
}

func TestProcStateAndServerOf(t *testing.T) {
	st, ok := procState(os.Getpid())
	if !ok || (st != 'R' && st != 'S') {
		t.Errorf("procState(self) = %q, %v", st, ok)
	}
	if _, ok := procState(1 << 30); ok {
		t.Error("procState of a pid that cannot exist reports a process")
	}
	// The test binary is no mariadbd: a recycled pid must not be signalled.
	in := Instance{Name: "db1", DefaultsFile: "/x/my.cnf", DataDir: "/x/data", Binary: "/usr/sbin/mariadbd"}
	if serverOf(os.Getpid(), in) {
		t.Error("serverOf(test process) = true")
	}
}

func TestRedact(t *testing.T) {
	if got := redact("near 'pw123' at line 1", "pw123"); got != "near '******' at line 1" {
		t.Errorf("redact = %q", got)
	}
}
