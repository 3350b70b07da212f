package mycnf

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// serverTool finds a MariaDB binary; under CI a missing one fails the test.
func serverTool(t *testing.T, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		bin = filepath.Join("/usr/sbin", name)
		if _, serr := os.Stat(bin); serr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s (mariadb-server) is required under CI", name)
			}
			t.Skipf("%s not installed", name)
		}
	}
	return bin
}

// tree is a generated set of option files: the top file, a directory it
// may include and a file it may include.
type tree struct {
	dir, top string
	files    map[string]string // path to content
}

func (tr tree) write(t *testing.T) {
	t.Helper()
	for p, s := range tr.files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil { // the server skips world-writable files
			t.Fatal(err)
		}
	}
}

// randomTree mixes every group name the server reads (and some it does
// not), names in mixed case, loose- and abbreviated, and includes.
func randomTree(rng *rand.Rand, dir string) tree {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	incDir, incFile := filepath.Join(dir, "conf.d"), filepath.Join(dir, "extra.cnf")
	body := func(includes bool) string {
		var b strings.Builder
		b.WriteString("[" + pick("mysqld", "server") + "]\n")
		for range 1 + rng.IntN(8) {
			switch rng.IntN(7) {
			case 0:
				b.WriteString("[" + pick("mysqld", "MySQLd", "server", "SERVER", "mariadb", "MariaDB", "mariadbd",
					"mysqld-10.11", "mariadb-10.11", "mariadbd-10.11", "client-server", "galera",
					"client", "mysqld-10.6", "server-10.11", "mysqld_safe", "mariadb-client") + "]\n")
			case 1:
				if includes {
					b.WriteString(pick("!includedir "+incDir, "!include "+incFile, "!include "+dir+"/none.cnf") + "\n")
				}
			default:
				b.WriteString(pick("server-id", "Server-Id", "SERVER_ID", "loose-server-id", "LOOSE-SERVER-ID",
					"server-i", "Server_I", "auto_increment_increment", "Auto-Increment-Offset",
					"auto-increment-inc", "AUTO_INCREMENT_OFF") + pick("=", " = ", "\t=") +
					fmt.Sprint(1+rng.IntN(99)) + "\n")
			}
		}
		return b.String()
	}
	tr := tree{dir: dir, top: filepath.Join(dir, "my.cnf"), files: map[string]string{}}
	tr.files[tr.top] = body(true)
	tr.files[incFile] = body(rng.IntN(3) == 0) // may include again: nesting
	for _, n := range []string{"a.cnf", "B.cnf", "c.ini", "z.cnf"}[:rng.IntN(5)] {
		tr.files[filepath.Join(incDir, n)] = body(false)
	}
	if _, ok := tr.files[filepath.Join(incDir, "a.cnf")]; !ok {
		tr.files[filepath.Join(incDir, ".keep")] = "" // the directory exists
	}
	return tr
}

// TestResolveAgainstServer compares Resolve with the server's own reading
// of generated trees: the options my_print_defaults --mysqld prints, in
// order, and the values mariadbd --verbose --help reports for server_id,
// auto_increment_increment and auto_increment_offset, with Config.Get.
func TestResolveAgainstServer(t *testing.T) {
	mpd, mariadbd := serverTool(t, "my_print_defaults"), serverTool(t, "mariadbd")
	rng := rand.New(rand.NewPCG(12, 12))
	for i := range 40 {
		tr := randomTree(rng, filepath.Join(t.TempDir(), fmt.Sprint(i)))
		tr.write(t)
		compareTree(t, mpd, mariadbd, tr)
	}
	for _, body := range []string{
		"[mysqld]\n!includedir %s/nonexistent.d\n",                                 // the server refuses to start
		"[mysqld]\nserver-id = 1\n!include %s/my.cnf\nauto-increment-offset = 2\n", // includes itself: depth limit
	} {
		dir := t.TempDir()
		tr := tree{dir: dir, top: filepath.Join(dir, "my.cnf"),
			files: map[string]string{filepath.Join(dir, "my.cnf"): fmt.Sprintf(body, dir)}}
		tr.write(t)
		compareTree(t, mpd, mariadbd, tr)
	}
}

func compareTree(t *testing.T, mpd, mariadbd string, tr tree) {
	t.Helper()
	top, err := Load(tr.top)
	if err != nil {
		t.Fatal(err)
	}
	c, rerr := Resolve(top, OSFS{})
	out, serr := exec.Command(mpd, "--defaults-file="+tr.top, "--mysqld").Output()
	if (rerr != nil) != (serr != nil) {
		t.Fatalf("%v:\nours: %v\nmy_print_defaults: %v", tr.files, rerr, serr)
	}
	if rerr != nil {
		return
	}
	var ours strings.Builder
	for _, s := range c.Settings(server1011) {
		fmt.Fprintf(&ours, "--%s=%s\n", s.Name, s.Value)
	}
	if string(out) != ours.String() {
		t.Fatalf("%v:\nours: %q\nmy_print_defaults: %q", tr.files, ours.String(), out)
	}
	vars := serverVariables(t, mariadbd, tr.top)
	for name, def := range map[string]string{"server-id": "1", "auto-increment-increment": "1", "auto-increment-offset": "1"} {
		want := def
		if s, ok := c.Get(server1011, name); ok {
			want = s.Value
		}
		if vars[name] != want {
			t.Fatalf("%v:\n%s: ours %q, mariadbd %q", tr.files, name, want, vars[name])
		}
	}
}

// serverVariables runs mariadbd --verbose --help and returns the table of
// values at its end.
func serverVariables(t *testing.T, mariadbd, file string) map[string]string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(mariadbd, "--defaults-file="+file, "--verbose", "--help")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mariadbd --defaults-file=%s: %v %s", file, err, stderr.String())
	}
	vars := map[string]string{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Variables (--variable-name=value)") {
			in = true
			continue
		}
		if f := strings.Fields(line); in && len(f) == 2 {
			vars[f[0]] = f[1]
		}
	}
	return vars
}

// TestServerOptionNames checks the embedded list of option names against
// the installed mariadbd, so that prefixes complete as it completes them.
func TestServerOptionNames(t *testing.T) {
	mariadbd := serverTool(t, "mariadbd")
	out, err := exec.Command(mariadbd, "--no-defaults", "--verbose", "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "--"); strings.HasPrefix(line, "  ") && i >= 2 && i <= 6 &&
			strings.Trim(line[:i], " -,abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ#?") == "" {
			name := line[i+2:]
			if j := strings.IndexAny(name, "[= "); j >= 0 {
				name = name[:j]
			}
			names = append(names, strings.ToLower(strings.ReplaceAll(name, "-", "_")))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if !slices.Equal(names, serverOptions) {
		t.Errorf("mariadbd has %d option names, the embedded list %d: regenerate mariadbd-10.11-options.txt",
			len(names), len(serverOptions))
	}
}
