package mycnf

import (
	"os"
	"strings"
	"testing"
)

type edit func(*File) error

func set(section, name, value string) edit {
	return func(f *File) error { return f.Set(section, name, value) }
}

func flag(section, name string) edit {
	return func(f *File) error { return f.SetFlag(section, name) }
}

func TestEdits(t *testing.T) {
	cases := map[string]struct {
		src, want string
		edit      edit
	}{
		"replace keeps comment": {
			"[mysqld]\nserver-id = 1 # unique\n", "[mysqld]\nserver-id = 2 # unique\n", set("mysqld", "server_id", "2")},
		"replace last only": {
			"[mysqld]\nport=1\n[mysqld]\nport=2\n", "[mysqld]\nport=1\n[mysqld]\nport=3\n", set("mysqld", "port", "3")},
		"replace keeps loose- spelling": {
			"[mysqld]\nloose-gtid_strict_mode=0\n", "[mysqld]\nloose-gtid_strict_mode=1\n", set("mysqld", "gtid-strict-mode", "1")},
		"replace keeps single quotes": {
			"[client]\npassword = 'old'\n", "[client]\npassword = 'it\\'s'\n", set("client", "password", "it's")},
		"replace quotes when needed": {
			"[client]\npassword=old # x\n", "[client]\npassword=\"a #b\" # x\n", set("client", "password", "a #b")},
		"replace empty before comment": {
			"[mysqld]\ninit-file =# none\n", "[mysqld]\ninit-file =x # none\n", set("mysqld", "init-file", "x")},
		"empty value, CRLF": {
			"[a]\r\nx=\r\ny = \r\n", "[a]\r\nx=v\r\ny\r\n", func(f *File) error {
				if err := f.Set("a", "x", "v"); err != nil {
					return err
				}
				return f.SetFlag("a", "y")
			}},
		"unchanged value keeps bytes": {
			"[mysqld]\nport =  \"3306\"  # same\n", "[mysqld]\nport =  \"3306\"  # same\n", set("mysqld", "port", "3306")},
		"flag gets value": {
			"[mysqld]\nlog-bin # binlog\nport=1\n", "[mysqld]\nlog-bin=mysql-bin # binlog\nport=1\n", set("mysqld", "log_bin", "mysql-bin")},
		"value becomes flag": {
			"[mysqld]\nlog-bin = x # binlog\n", "[mysqld]\nlog-bin # binlog\n", flag("mysqld", "log-bin")},
		"append after last option": {
			"[mysqld]\na = 1\n#b = 2\n\n# client things\n[client]\n", "[mysqld]\na = 1\nserver_id = 7\n#b = 2\n\n# client things\n[client]\n", set("mysqld", "server_id", "7")},
		"append in last occurrence": {
			"[mysqld]\na=1\n[client]\nb=2\n[mysqld]\nc=3\n\n", "[mysqld]\na=1\n[client]\nb=2\n[mysqld]\nc=3\nd=4\n\n", set("mysqld", "d", "4")},
		"append before includedir": {
			"[client-server]\nsocket = /s\n\n!includedir /etc/mysql/conf.d/\n", "[client-server]\nsocket = /s\nport = 3307\n\n!includedir /etc/mysql/conf.d/\n", set("client-server", "port", "3307")},
		"append after header": {
			"[mysqld]\n# nothing yet\n", "[mysqld]\nskip-name-resolve\n# nothing yet\n", flag("mysqld", "skip-name-resolve")},
		"append copies style": {
			"[mysqld]\n  a=1\n[client]\nb = 2\n", "[mysqld]\n  a=1\n  c=3\n[client]\nb = 2\n", set("mysqld", "c", "3")},
		"style from other section": {
			"[client]\nb=2\n[mysqld]\n", "[client]\nb=2\n[mysqld]\nc=3\n", set("mysqld", "c", "3")},
		"tab-aligned style": {
			"[mysqldump]\nquick\nmax_allowed_packet\t= 16M\n", "[mysqldump]\nquick\nmax_allowed_packet\t= 16M\nnet_buffer_length = 1M\n", set("mysqldump", "net_buffer_length", "1M")},
		"new section": {
			"[client]\nuser=a\n", "[client]\nuser=a\n\n[mysqld]\nport=3306\n", set("mysqld", "port", "3306")},
		"new section after blank": {
			"[client]\n\n", "[client]\n\n[mysqld]\nport = 3306\n", set("mysqld", "port", "3306")},
		"new section in empty file": {
			"", "[mysqld]\nport = 3306\n", set("mysqld", "port", "3306")},
		"no final newline": {
			"[mysqld]\nport=1", "[mysqld]\nport=1\nx=2\n", set("mysqld", "x", "2")},
		"no final newline, new section": {
			"# c", "# c\n\n[mysqld]\nx = 2\n", set("mysqld", "x", "2")},
		"CRLF": {
			"[mysqld]\r\nport = 1\r\n", "[mysqld]\r\nport = 2\r\nx = \"a b \"\r\n", func(f *File) error {
				if err := f.Set("mysqld", "port", "2"); err != nil {
					return err
				}
				return f.Set("mysqld", "x", "a b ")
			}},
		"CRLF new section": {
			"[a]\r\nx=1", "[a]\r\nx=1\r\n\r\n[b]\r\ny=2\r\n", set("b", "y", "2")},
		"section case": {
			"[MYSQLD]\nport=1\n", "[MYSQLD]\nport=1\nx=2\n", set("mysqld", "x", "2")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := mustParse(t, tc.src)
			if err := tc.edit(f); err != nil {
				t.Fatal(err)
			}
			if got := string(f.Bytes()); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
			mustParse(t, tc.want)
		})
	}
}

func TestSetQuoting(t *testing.T) {
	values := []string{
		"plain", "with space", " lead", "trail ", "a#b", "#", `it's`, `say "hi"`, `'`, `"`,
		`C:\data\new`, `\`, `a\`, "two\nlines", "tab\there", "cr\r", "bs\b", "", "voil\xc3\xa0",
		"\xa0", "\v", "x = y", "; not a comment", "[mysqld]", "!include x", "\x01ctl",
	}
	for _, v := range values {
		f := mustParse(t, "[client]\npassword = old # keep\n")
		for _, name := range []string{"password", "new-option"} {
			if err := f.Set("client", name, v); err != nil {
				t.Fatalf("Set(%q): %v", v, err)
			}
		}
		g := mustParse(t, string(f.Bytes()))
		for _, name := range []string{"password", "new-option"} {
			if o, ok := g.Get("client", name); !ok || !o.HasValue || o.Value != v {
				t.Errorf("Set(%q) then Get = %+v, %v\n%s", v, o, ok, f.Bytes())
			}
		}
		if !strings.Contains(string(f.Bytes()), " # keep\n") {
			t.Errorf("Set(%q) lost the comment: %q", v, f.Bytes())
		}
	}
}

func TestSetErrors(t *testing.T) {
	const src = "[mysqld]\na\"b = 1\n"
	cases := map[string]struct {
		edit edit
		want string
	}{
		"NUL":               {set("mysqld", "x", "a\x00"), "my.cnf: set [mysqld] x: value contains a NUL byte"},
		"name with =":       {set("mysqld", "a=b", "1"), `my.cnf: set [mysqld] a=b: option name "a=b" contains '='`},
		"name with blank":   {flag("mysqld", "a b"), `option name "a b" contains ' '`},
		"comment name":      {set("mysqld", "#x", "1"), `option name "#x" starts with '#'`},
		"empty name":        {set("mysqld", "", "1"), "empty option name"},
		"bad section":       {set("a]b", "x", "1"), `section name "a]b" contains ']'`},
		"blank section":     {set(" mysqld", "x", "1"), `section name " mysqld" starts or ends with a blank`},
		"empty section":     {set("", "x", "1"), "empty section name"},
		"too long":          {set("mysqld", "x", strings.Repeat("v", maxLine)), "my.cnf:3: line is"},
		"quote in old name": {set("mysqld", "a\"b", "x # y"), "the server would not read the value back unchanged"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := mustParse(t, src)
			err := tc.edit(f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if string(f.Bytes()) != src {
				t.Errorf("failed edit changed the file: %q", f.Bytes())
			}
		})
	}
}

func TestRemove(t *testing.T) {
	f := mustParse(t, "[mysqld]\nlog-bin # a\n[client]\nlog-bin\n[mysqld]\nloose-log_bin=x\nport=1")
	if !f.Remove("mysqld", "log_bin") {
		t.Fatal("Remove = false")
	}
	if got, want := string(f.Bytes()), "[mysqld]\n[client]\nlog-bin\n[mysqld]\nport=1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if f.Remove("mysqld", "log_bin") {
		t.Error("second Remove = true")
	}
	if !f.Remove("mysqld", "port") || string(f.Bytes()) != "[mysqld]\n[client]\nlog-bin\n[mysqld]\n" {
		t.Errorf("got %q", f.Bytes())
	}
}

// A realistic edit of Debian's MariaDB server file: turn a fresh install
// into a replica's configuration.
func TestDebianServer(t *testing.T) {
	const path = "testdata/debian/50-server.cnf"
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Sections(); strings.Join(got, ",") != "server,mysqld,embedded,mariadb,mariadb-10.11" {
		t.Errorf("Sections = %q", got)
	}
	if o, ok := f.Get("mysqld", "pid_file"); !ok || o.Value != "/run/mysqld/mysqld.pid" || o.Line != 16 {
		t.Errorf("Get pid_file = %+v, %v", o, ok)
	}
	if _, ok := f.Get("mysqld", "server-id"); ok {
		t.Error("commented-out server-id found")
	}
	for _, e := range []edit{
		set("mysqld", "bind-address", "0.0.0.0"),
		set("mysqld", "server-id", "2"),
		set("mysqld", "log_bin", "/var/log/mysql/mysql-bin.log"),
		flag("mysqld", "log-slave-updates"),
		set("mariadb", "gtid_strict_mode", "ON"),
	} {
		if err := e(f); err != nil {
			t.Fatal(err)
		}
	}
	if !f.Remove("mysqld", "expire-logs-days") {
		t.Error("expire_logs_days not removed")
	}
	got := string(f.Bytes())
	want := string(orig)
	for _, r := range [][2]string{
		{"bind-address            = 127.0.0.1\n", "bind-address            = 0.0.0.0\n"},
		{"collation-server      = utf8mb4_general_ci\n", "collation-server      = utf8mb4_general_ci\n" +
			"server-id = 2\nlog_bin = /var/log/mysql/mysql-bin.log\nlog-slave-updates\n"},
		{"expire_logs_days        = 10\n", ""},
		{"[mariadb]\n", "[mariadb]\ngtid_strict_mode = ON\n"},
	} {
		if !strings.Contains(want, r[0]) {
			t.Fatalf("testdata lacks %q", r[0])
		}
		want = strings.Replace(want, r[0], r[1], 1)
	}
	if got != want {
		t.Errorf("got\n%s", got)
	}
}
