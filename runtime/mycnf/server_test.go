package mycnf

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestServerReader compares the parser with the server's own reader:
// my_print_defaults prints, in file order, the options a program reading
// the given groups receives, and fails with the line number where the
// server rejects a file.
func TestServerReader(t *testing.T) {
	bin, err := exec.LookPath("my_print_defaults")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("my_print_defaults (MariaDB client tools) is required under CI")
		}
		t.Skip("my_print_defaults not installed")
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.d")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, s := range fuzzSeeds {
		inputs = append(inputs, strings.ReplaceAll(s, "!includedir /b/", "!includedir "+empty+"/"))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range randomFiles {
		inputs = append(inputs, randomFile(rng, empty))
	}
	for i, src := range inputs {
		path := filepath.Join(dir, fmt.Sprintf("%d.cnf", i))
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil { // the server skips world-writable files
			t.Fatal(err)
		}
		compareWithServer(t, bin, path, src)
		if edited, ok := randomEdit(rng, src); ok {
			os.WriteFile(path, []byte(edited), 0o644)
			compareWithServer(t, bin, path, edited)
		}
	}
}

// randomEdit sets a tricky value on an existing option and on a new one, so
// that the server checks how values are written.
func randomEdit(rng *rand.Rand, src string) (string, bool) {
	f, err := Parse(strings.NewReader(src), "edit.cnf")
	if err != nil {
		return "", false
	}
	values := []string{"", " x ", "a#b", "it's", `"q"`, `\`, "l1\nl2", "\xa0", "voil\xc3\xa0", "\t", ";", "p w"}
	for _, o := range f.Options("mysqld") {
		if rng.IntN(2) == 0 {
			f.Set("mysqld", o.Name, values[rng.IntN(len(values))])
		}
	}
	if err := f.Set("client", "new-opt", values[rng.IntN(len(values))]); err != nil {
		return "", false
	}
	return string(f.Bytes()), true
}

// randomFiles is kept small for the default run; raise it to hunt.
var randomFiles = 400

var serverLine = regexp.MustCompile(`at line:? (\d+)`)

func compareWithServer(t *testing.T, bin, path, src string) {
	t.Helper()
	f, perr := Parse(strings.NewReader(src), path)
	if perr != nil && strings.Contains(perr.Error(), "option without a name") {
		return // the server reads out of bounds here; we refuse
	}
	groups := []string{"mysqld", "client"}
	cmd := exec.Command(bin, "--defaults-file="+path, groups[0], groups[1])
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	rerr := cmd.Run()
	if perr != nil || rerr != nil {
		m := serverLine.FindStringSubmatch(stderr.String())
		se, _ := perr.(*SyntaxError)
		if rerr == nil || se == nil || m == nil || m[1] != strconv.Itoa(se.Line) {
			t.Errorf("%q:\nours:   %v\nserver: %v %s", src, perr, rerr, stderr.String())
		}
		return
	}
	var want strings.Builder
	for i := range f.lines {
		l := &f.lines[i]
		if l.kind != optionLine || !sameSection(l.group, groups[0]) && !sameSection(l.group, groups[1]) {
			continue
		}
		want.WriteString("--" + l.name)
		if l.hasValue() {
			want.WriteString("=" + l.value)
		}
		want.WriteString("\n")
	}
	if stdout.String() != want.String() {
		t.Errorf("%q:\nours:   %q\nserver: %q", src, want.String(), stdout.String())
	}
}

// randomFile strings together the constructs whose reading is subtle.
func randomFile(rng *rand.Rand, emptyDir string) string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	value := func() string {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString(pick("v", "a b", "'q'", `"q"`, "'", `"`, `\`, `\n`, `\s`, `\x`, "#", " # c",
				"\xc3\xa0", "\xa0", `\"`, `\'`, ";", "=", " ", "\t", "\v"))
		}
		return b.String()
	}
	var b strings.Builder
	if rng.IntN(5) > 0 {
		b.WriteString(pick("[mysqld]", "[client]") + "\n")
	}
	n := rng.IntN(8)
	for i := range n {
		b.WriteString(pick("", "", " ", "\t", "\xa0"))
		switch rng.IntN(6) {
		case 0:
			b.WriteString(pick("[mysqld]", "[MySQLd]", "[ mysqld]", "[mysqld ] # x", "[client]junk", "[mysqld", "[]", "[other]"))
		case 1:
			b.WriteString(pick("# c", "; c", "#", ";", "", "  ", "\v"))
		case 2:
			b.WriteString(pick("!include /nonexistent/x.cnf", "!includedir "+emptyDir+"/", "!foo", "! include", "!include", "!includedir"))
		default:
			b.WriteString(pick("a", "loose-b", "skip-c", "x_y-z", "n'q", `n"q`, "a#b"))
			if rng.IntN(4) > 0 {
				b.WriteString(pick("=", " = ", "\t=\t", " =", "= ") + value())
			}
		}
		if i < n-1 || rng.IntN(3) > 0 {
			b.WriteString(pick("\n", "\n", "\r\n", " \n"))
		}
	}
	return b.String()
}
