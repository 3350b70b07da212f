package mycnf

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
)

// mapFS is an in-memory FS: file paths to contents; a directory exists
// when a file lies under it or it is listed with a trailing "/".
type mapFS map[string]string

func (m mapFS) ReadFile(p string) ([]byte, error) {
	if s, ok := m[p]; ok && !strings.HasSuffix(p, "/") {
		return []byte(s), nil
	}
	return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

func (m mapFS) ReadDir(dir string) ([]string, error) {
	dir = strings.TrimSuffix(dir, "/")
	var names []string
	found := false
	for p := range m {
		if path.Dir(p) == dir && !strings.HasSuffix(p, "/") {
			names = append(names, path.Base(p))
		}
		found = found || strings.HasPrefix(p, dir+"/")
	}
	if !found {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: fs.ErrNotExist}
	}
	return names, nil
}

var server1011 = []string{"mysqld", "server", "mysqld-10.11", "mariadb", "mariadb-10.11", "mariadbd",
	"mariadbd-10.11", "client-server", "galera"}

func resolve(t *testing.T, m mapFS) *Config {
	t.Helper()
	top, err := Parse(strings.NewReader(m["/etc/my.cnf"]), "/etc/my.cnf")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Resolve(top, m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResolveOrder(t *testing.T) {
	c := resolve(t, mapFS{
		"/etc/my.cnf":       "[mysqld]\nserver-id = 1\n!includedir /etc/my.d\nlog-bin = a\n!include /etc/missing.cnf\n",
		"/etc/my.d/b.cnf":   "[mariadb]\nServer-Id = 3\n",
		"/etc/my.d/a.cnf":   "[server]\nserver_id = 2\n!include /etc/inc.cnf\n",
		"/etc/my.d/c.ini":   "[mysqld]\nserver-id = 9\n",
		"/etc/inc.cnf":      "[client]\nserver-id = 7\n",
		"/etc/my.d/d.cnf/x": "",
	})
	var got []string
	for _, s := range c.Settings(server1011) {
		got = append(got, s.File.Name()+":"+s.Name+"="+s.Value)
	}
	want := []string{"/etc/my.cnf:server-id=1", "/etc/my.d/a.cnf:server_id=2", "/etc/my.d/b.cnf:Server-Id=3", "/etc/my.cnf:log-bin=a"}
	if !slices.Equal(got, want) {
		t.Errorf("read order %q, want %q", got, want)
	}
	if s, ok := c.Get(server1011, "server-id"); !ok || s.Value != "3" || s.File.Name() != "/etc/my.d/b.cnf" || s.Line != 2 {
		t.Errorf("Get(server-id) = %+v %v", s, ok)
	}
}

func TestResolveMissingIncludedir(t *testing.T) {
	top, _ := Parse(strings.NewReader("[mysqld]\n!includedir /nonexistent.d\n"), "/etc/my.cnf")
	_, err := Resolve(top, mapFS{})
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "/etc/my.cnf:2: !includedir /nonexistent.d") ||
		!strings.Contains(err.Error(), "refuses to start") {
		t.Errorf("err = %v", err)
	}
}

// TestConfigSetIncluded: the value the tool sets wins even when an included
// file read later sets it (the old edit added server-id = 9 to my.cnf and
// the server read --server-id=9 --server-id=5).
func TestConfigSetIncluded(t *testing.T) {
	m := mapFS{
		"/etc/my.cnf":     "[mysqld]\nport = 3306\n!includedir /etc/my.d\n",
		"/etc/my.d/z.cnf": "[mariadb]\nserver-id = 5 # from z\n",
	}
	c := resolve(t, m)
	if err := c.Set(server1011, "mysqld", "server-id", "9"); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Get(server1011, "server_id"); s.Value != "9" {
		t.Errorf("server_id = %+v", s)
	}
	changed := c.Changed()
	if len(changed) != 1 || changed[0].Name() != "/etc/my.d/z.cnf" || string(changed[0].Bytes()) != "[mariadb]\nserver-id = 9 # from z\n" {
		t.Errorf("changed %v", changed)
	}
	if string(c.Files[0].Bytes()) != m["/etc/my.cnf"] {
		t.Errorf("top file changed: %q", c.Files[0].Bytes())
	}
}

// TestConfigRemoveEveryGroup: log-bin in any group the server reads, in any
// case, in any file, goes; other groups keep theirs.
func TestConfigRemoveEveryGroup(t *testing.T) {
	c := resolve(t, mapFS{
		"/etc/my.cnf":     "[mysqld]\nlog-bin = a\n[server]\nLog-Bin = b\n[MariaDB-10.11]\nLOOSE_LOG_BIN\n[client]\nlog-bin = c\n!include /etc/x.cnf\n",
		"/etc/x.cnf":      "[mariadbd]\nlog_bin = d\n[galera]\nlog-bin\n",
		"/etc/unread.cnf": "[mysqld]\nlog-bin\n",
	})
	removed, err := c.Remove(server1011, "log-bin")
	if err != nil || !removed {
		t.Fatal(removed, err)
	}
	if s, ok := c.Get(server1011, "log-bin"); ok {
		t.Errorf("log-bin still read from %s:%d", s.File.Name(), s.Line)
	}
	if got := string(c.Files[0].Bytes()); got != "[mysqld]\n[server]\n[MariaDB-10.11]\n[client]\nlog-bin = c\n!include /etc/x.cnf\n" {
		t.Errorf("top file %q", got)
	}
	if got := string(c.Files[1].Bytes()); got != "[mariadbd]\n[galera]\n" {
		t.Errorf("included file %q", got)
	}
}

func TestAbbreviation(t *testing.T) {
	f := mustParse(t, "[mysqld]\nserver-id = 3\nSERVER-I = 8\nlog-b = x\n[client]\nserver-i = 1\n")
	if o, ok := f.Get("mysqld", "server_id"); !ok || o.Value != "8" || !o.Abbreviation || o.Name != "SERVER-I" {
		t.Errorf("Get(server_id) = %+v, %v", o, ok)
	}
	if o, ok := f.Get("mysqld", "log-bin"); ok {
		t.Errorf("an ambiguous prefix read as log-bin: %+v", o)
	}
	if o, ok := f.Get("client", "server-id"); ok {
		t.Errorf("a client group completed a server option: %+v", o)
	}
	if !f.Remove("mysqld", "Server-ID") || string(f.Bytes()) != "[mysqld]\nlog-b = x\n[client]\nserver-i = 1\n" {
		t.Errorf("remove: %q", f.Bytes())
	}
}

func TestServerGroup(t *testing.T) {
	for g, want := range map[string]bool{"mysqld": true, "MySQLd": true, "mariadb-10.11": true, "mysqld-8.0": true,
		"client-server": true, "galera": true, "mysqld2": true, "client": false, "server-x": false, "mysqld_safe": false,
		"mysqldump": false} {
		if ServerGroup(g) != want {
			t.Errorf("ServerGroup(%q) = %v", g, !want)
		}
	}
}

// FuzzResolve: with a top file and one included file, the effective value
// is the last one Settings lists, and a Set either takes effect or leaves
// both files as they were.
func FuzzResolve(f *testing.F) {
	f.Add("[mysqld]\nserver-id=1\n!include /i.cnf\n", "[mariadb]\nServer-Id = 2\n", "server-id", "7")
	f.Add("[server]\nlog-bin\n!includedir /d\n", "[mysqld]\nLOOSE-LOG-BIN = x\n", "log_bin", "")
	f.Add("[mysqld]\nserver-i = 4\n", "[client]\nserver-id=1\n", "SERVER_ID", "5")
	f.Fuzz(func(t *testing.T, top, inc, name, value string) {
		tf, err := Parse(strings.NewReader(top), "/t.cnf")
		if err != nil {
			return
		}
		m := mapFS{"/t.cnf": top, "/i.cnf": inc, "/d/i.cnf": inc}
		c, err := Resolve(tf, m)
		if err != nil {
			return
		}
		var last *Setting
		for _, o := range c.Settings(server1011) {
			if optionKey(o.Section, o.Name) == optionKey(o.Section, name) {
				last = &o
			}
		}
		s, ok := c.Get(server1011, name)
		if ok != (last != nil) || ok && (s.File != last.File || s.Line != last.Line) {
			t.Fatalf("Get(%q) = %+v, %v; last read %+v", name, s, ok, last)
		}
		before := []string{string(c.Files[0].Bytes())}
		if len(c.Files) > 1 {
			before = append(before, string(c.Files[1].Bytes()))
		}
		if err := c.Set(server1011, "mysqld", name, value); err != nil {
			if got := string(c.Files[0].Bytes()); got != before[0] {
				t.Fatalf("refused Set changed the top file: %q", got)
			}
			return
		}
		if s, ok := c.Get(server1011, name); !ok || s.Value != value || !s.HasValue {
			t.Fatalf("after Set(%q, %q): %+v, %v", name, value, s, ok)
		}
	})
}
