package mycnf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse(strings.NewReader(src), "my.cnf")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := string(f.Bytes()); got != src {
		t.Fatalf("round trip changed the file:\n got %q\nwant %q", got, src)
	}
	return f
}

// opt is an Option without Section and Line, for compact tables.
type opt struct {
	name, value string
	hasValue    bool
}

func optionsOf(f *File, section string) []opt {
	var out []opt
	for _, o := range f.Options(section) {
		out = append(out, opt{o.Name, o.Value, o.HasValue})
	}
	return out
}

func TestParseOptions(t *testing.T) {
	cases := map[string]struct {
		src  string
		want []opt
	}{
		"plain":               {"[mysqld]\nport=3306\n", []opt{{"port", "3306", true}}},
		"blanks around":       {"[mysqld]\n  port \t=\t 3306  \n", []opt{{"port", "3306", true}}},
		"flag":                {"[mysqld]\nlog-slave-updates\nskip-name-resolve # why\n", []opt{{"log-slave-updates", "", false}, {"skip-name-resolve", "", false}}},
		"empty value":         {"[mysqld]\nbind-address =\ninit-file = # none\n", []opt{{"bind-address", "", true}, {"init-file", "", true}}},
		"trailing comment":    {"[mysqld]\nport = 3306 # default\n", []opt{{"port", "3306", true}}},
		"comment no blank":    {"[mysqld]\npassword=abc#def\n", []opt{{"password", "abc", true}}},
		"semicolon is value":  {"[mysqld]\ninit_connect = SET a=1; SET b=2\n", []opt{{"init_connect", "SET a=1; SET b=2", true}}},
		"second = in value":   {"[mysqld]\noptimizer_switch=index_merge=off\n", []opt{{"optimizer_switch", "index_merge=off", true}}},
		"double quotes":       {"[mysqld]\nwsrep_cluster_name = \"My Cluster\" # c\n", []opt{{"wsrep_cluster_name", "My Cluster", true}}},
		"single quotes":       {"[client]\npassword = 'p#ss word'\n", []opt{{"password", "p#ss word", true}}},
		"quote inside quotes": {"[client]\npassword = \"it's\"\n", []opt{{"password", "it's", true}}},
		"escaped quote":       {"[client]\npassword = \"a\\\"b # c\" # real\n", []opt{{"password", "a\"b # c", true}}},
		"unbalanced quotes":   {"[client]\npassword = 'x\" # y\n", []opt{{"password", "'x\" # y", true}}},
		"mismatched quotes":   {"[client]\npassword = 'x\"\n", []opt{{"password", "'x\"", true}}},
		"lone quote":          {"[client]\npassword = \"\n", []opt{{"password", "\"", true}}},
		"empty quotes":        {"[client]\npassword = \"\"\n", []opt{{"password", "", true}}},
		"quotes kept inside":  {"[client]\npassword = 'a' 'b'\n", []opt{{"password", "a' 'b", true}}},
		"backslash outside":   {"[client]\npassword = a\\\"b # c\n", []opt{{"password", "a\"b # c", true}}},
		"escapes":             {"[mysqld]\nv = \\b\\t\\n\\r\\\\\\s\\'\\\"\n", []opt{{"v", "\b\t\n\r\\ '\"", true}}},
		"unknown escape":      {"[mysqld]\ndatadir = C:\\data\\new\n", []opt{{"datadir", "C:\\data\n" + "ew", true}}},
		"windows path":        {"[mysqld]\nbasedir=C:\\Program Files\\MySQL\\\n", []opt{{"basedir", "C:\\Program Files\\MySQL\\", true}}},
		"\\s keeps blanks":    {"[mysqld]\nv = \\s x \\s\n", []opt{{"v", "  x  ", true}}},
		"latin1 nbsp trimmed": {"[mysqld]\nv = voil\xc3\xa0\n", []opt{{"v", "voil\xc3", true}}},
		"quoted nbsp kept":    {"[mysqld]\nv = \"voil\xc3\xa0\"\n", []opt{{"v", "voil\xc3\xa0", true}}},
		"spaces in name":      {"[mysqld]\ninnodb buffer = 1\n", []opt{{"innodb buffer", "1", true}}},
		"CRLF":                {"[mysqld]\r\nport = 3306\r\nskip-networking\r\n", []opt{{"port", "3306", true}, {"skip-networking", "", false}}},
		"no final newline":    {"[mysqld]\nport = 3306", []opt{{"port", "3306", true}}},
		"repeated section":    {"[mysqld]\na=1\n[client]\nb=2\n[MYSQLD]\na=3\n", []opt{{"a", "1", true}, {"a", "3", true}}},
		"header junk ignored": {"[mysqld] # the server\nport=1\n", []opt{{"port", "1", true}}},
		"indented lines":      {"  [mysqld]\n\t# c\n  ; c\n  port = 1\n", []opt{{"port", "1", true}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := mustParse(t, tc.src)
			section := "mysqld"
			if strings.Contains(tc.src, "[client]\npassword") {
				section = "client"
			}
			if got := optionsOf(f, section); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("options:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]struct {
		src  string
		want string
	}{
		"option before section": {"# c\n\nport=3306\n[mysqld]\n", `my.cnf:3: option "port" before any [section]; the server rejects it`},
		"byte order mark":       {"\xEF\xBB\xBF[mysqld]\n", "my.cnf:1: file starts with a UTF-8 byte order mark"},
		"unclosed header":       {"[mysqld]\na=1\n[client\n", "my.cnf:3: section header without ']'"},
		"include without path":  {"[mysqld]\n!include   \n", "my.cnf:2: '!include' without a path"},
		"includedir, CRLF":      {"!includedir\r\n", "my.cnf:1: '!includedir' without a path"},
		"one-byte path at EOF":  {"!include x", "my.cnf:1: '!include' without a path"},
		"empty name":            {"[mysqld]\n = 1\n", "my.cnf:2: option without a name"},
		"NUL":                   {"[mysqld]\na=\x00\n", "my.cnf:2: NUL byte"},
		"long line":             {"[mysqld]\na=" + strings.Repeat("x", maxLine) + "\n", "my.cnf:2: line is 4097 bytes"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.src), "my.cnf")
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want prefix %q", err, tc.want)
			}
		})
	}
}

// Lines the server accepts that look odd.
func TestParseAccepted(t *testing.T) {
	for _, src := range []string{
		"",
		"\n\n",
		"# only a comment",
		"!include",             // keyword at EOF: ignored by the server
		"!includex /a\n!foo\n", // unknown directives: ignored
		"[]\na=1\n",            // empty group name
		"[mysqld]\n" + strings.Repeat("x", maxLine-1) + "\n",
		"\r\n\r\n[a]\r\n",
		"[a]\nx\r", // lone CR is a blank to the server
	} {
		mustParse(t, src)
	}
}

func TestSectionsAndIncludes(t *testing.T) {
	src := "! include /etc/a.cnf  \n[client-server]\nsocket=/run/s\n!includedir /etc/mysql/conf.d/\n[mariadb-10.11]\n[Client-Server]\n[ mysqld]\nx=1\n!include /etc/b.cnf"
	f := mustParse(t, src)
	if got, want := f.Sections(), []string{"client-server", "mariadb-10.11", " mysqld"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sections = %q, want %q", got, want)
	}
	want := []Include{
		{Path: "/etc/a.cnf", Line: 1},
		{Path: "/etc/mysql/conf.d/", Dir: true, Line: 4},
		// get_argument() drops the last byte of a last line without '\n'.
		{Path: "/etc/b.cn", Line: 9},
	}
	if got := f.Includes(); !reflect.DeepEqual(got, want) {
		t.Errorf("Includes = %+v, want %+v", got, want)
	}
	if _, ok := f.Get("mysqld", "x"); ok {
		t.Error("[ mysqld] must not be read as [mysqld]")
	}
}

func TestGetNames(t *testing.T) {
	f := mustParse(t, "[mysqld]\nloose-log_slave-updates\nlog-bin = a\nskip-log-bin\nlog_bin = b # last\nServer_ID = 9\n")
	cases := []struct {
		name  string
		want  Option
		found bool
	}{
		{"log_slave_updates", Option{Section: "mysqld", Name: "loose-log_slave-updates", Line: 2}, true},
		{"loose-log-slave-updates", Option{Section: "mysqld", Name: "loose-log_slave-updates", Line: 2}, true},
		{"log-bin", Option{Section: "mysqld", Name: "log_bin", Value: "b", HasValue: true, Line: 5}, true},
		{"skip_log_bin", Option{Section: "mysqld", Name: "skip-log-bin", Line: 4}, true},
		{"server_id", Option{Section: "mysqld", Name: "Server_ID", Value: "9", HasValue: true, Line: 6}, true},
		{"SERVER-ID", Option{Section: "mysqld", Name: "Server_ID", Value: "9", HasValue: true, Line: 6}, true},
	}
	for _, tc := range cases {
		got, ok := f.Get("MySQLd", tc.name)
		if ok != tc.found || got != tc.want {
			t.Errorf("Get(%q) = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.found)
		}
	}
}

func TestRoundTripTestdata(t *testing.T) {
	paths, _ := filepath.Glob("testdata/*/*.cnf")
	if len(paths) == 0 {
		t.Fatal("no testdata")
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.Bytes(), data) {
			t.Errorf("%s: round trip changed the file", p)
		}
		var b bytes.Buffer
		if n, err := f.WriteTo(&b); err != nil || n != int64(len(data)) || !bytes.Equal(b.Bytes(), data) {
			t.Errorf("%s: WriteTo = %d, %v", p, n, err)
		}
	}
}

func TestLoadError(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.cnf"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
	p := filepath.Join(t.TempDir(), "bad.cnf")
	os.WriteFile(p, []byte("[mysqld]\n[x\n"), 0o644)
	if _, err := Load(p); err == nil || err.Error() != p+":2: section header without ']'" {
		t.Fatalf("err = %v", err)
	}
}
