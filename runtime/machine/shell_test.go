package machine

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// awkward are arguments a naive join would break: each must reach the
// command as exactly itself.
var awkward = []string{
	"plain", "", "two words", "it's", `"double"`, `$HOME`, "${x:-y}", "`id`", "$(id)",
	"new\nline", "trailing\n", "tab\there", "*", "?", "[a]", "~", "~root", "-n", "--", "a;b", "a&&b",
	"a|b", "a>b", "<x", `back\slash`, `\`, "'", "''", `'\''`, "é ü 日本", "#hash", "!bang",
	"=eq", "a=b", "{a,b}", "%", "x\x01y", " lead", "trail ",
}

func TestQuoteKeepsPlainWords(t *testing.T) {
	for _, s := range []string{"mariadb", "--defaults-file=/etc/mysql/my.cnf", "ops@10.0.0.1", "a,b:c%d+e"} {
		if got := Quote(s); got != s {
			t.Errorf("Quote(%q) = %q, want it unchanged", s, got)
		}
	}
	for s, want := range map[string]string{"": "''", "a b": "'a b'", "it's": `'it'\''s'`, "=x": "'=x'"} {
		if got := Quote(s); got != want {
			t.Errorf("Quote(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestQuoteRoundTrip runs the quoted line through real shells and checks
// that printf receives every argument intact.
func TestQuoteRoundTrip(t *testing.T) {
	shells := 0
	for _, sh := range []string{"sh", "dash", "bash", "zsh", "busybox"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		shells++
		argv := []string{path, "-c", "printf '%s\\0' " + QuoteCommand(awkward)}
		if sh == "busybox" {
			argv = append([]string{path, "sh"}, argv[1:]...)
		}
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		if err != nil {
			t.Fatalf("%s: %v", sh, err)
		}
		if got := nulSplit(out); !slices.Equal(got, awkward) {
			t.Errorf("%s: got %q\nwant %q", sh, got, awkward)
		}
	}
	if shells == 0 {
		t.Fatal("no shell found")
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("no command can receive a NUL byte")
		}
		out, err := exec.Command("sh", "-c", "printf '%s' "+Quote(s)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != s {
			t.Fatalf("Quote(%q) = %s reads back as %q", s, Quote(s), out)
		}
	})
}
