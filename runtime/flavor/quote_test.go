package flavor

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestQuoteString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `''`},
		{"repl", `'repl'`},
		{"it's", `'it''s'`},
		{`a\b`, `'a\\b'`},
		{`\'`, `'\\'''`},
		{`'\`, `'''\\'`},
		{"a\x00b", `'a\0b'`},
		{"l1\nl2\r", `'l1\nl2\r'`},
		{"\x1a", `'\Z'`},
		{"tab\there", "'tab\there'"},
		{`say "hi"`, `'say "hi"'`},
		{"%_", `'%_'`},
		{"пароль 密码 🔑", "'пароль 密码 🔑'"},
		{"\xff\xfe", "'\xff\xfe'"}, // bytes, not runes: invalid UTF-8 passes through
	}
	for _, tt := range tests {
		if got := QuoteString(tt.in); got != tt.want {
			t.Errorf("QuoteString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestUnquoteString(t *testing.T) {
	tests := []struct{ in, want string }{
		{`''`, ""},
		{`'it''s'`, "it's"},
		{`'it\'s'`, "it's"},
		{`'\"\b\t\n\r\0\Z\\\x'`, "\"\b\t\n\r\x00\x1a\\x"},
	}
	for _, tt := range tests {
		if got, err := UnquoteString(tt.in); err != nil || got != tt.want {
			t.Errorf("UnquoteString(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{``, `abc`, `'abc`, `'abc\'`, `'a'b`, `'\`} {
		if got, err := UnquoteString(bad); err == nil {
			t.Errorf("UnquoteString(%s) = %q, want an error", bad, got)
		}
	}
}

func TestQuoteIdentifier(t *testing.T) {
	for in, want := range map[string]string{
		"db": "`db`", "a`b": "`a``b`", "``": "``````", `a\b`: "`a\\b`", "my table": "`my table`", "": "``",
	} {
		if got := QuoteIdentifier(in); got != want {
			t.Errorf("QuoteIdentifier(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	// The master role's account statements carry the replication password.
	for _, stmt := range MustParse("10.11.6-MariaDB").CreateUser("repl", "%", `it's s3cret`) {
		if got := Redact(stmt); strings.Contains(got, "s3cret") || !strings.Contains(got, "'<redacted>'") {
			t.Errorf("Redact(%q) = %q", stmt, got)
		}
	}
	for _, f := range []Flavor{MustParse("8.0.22"), MustParse("8.4.0"), MustParse("10.11.6-MariaDB")} {
		for _, pw := range []string{"s3cret", `it's`, `a\`, `\'`, `''`, "PASSWORD = 'x'", "🔑"} {
			stmt, err := f.ChangeSource(ChangeSourceOptions{Host: "db1", User: "repl", Password: pw, Port: 3306})
			if err != nil {
				t.Fatal(err)
			}
			got := Redact(stmt)
			want := strings.Replace(stmt, QuoteString(pw), "'<redacted>'", 1)
			if got != want {
				t.Errorf("%s, password %q:\n got %s\nwant %s", f, pw, got, want)
			}
		}
	}
	for in, want := range map[string]string{
		"START REPLICA":                                            "START REPLICA",
		"CHANGE MASTER TO MASTER_PASSWORD = ":                      "CHANGE MASTER TO MASTER_PASSWORD = ",
		"X PASSWORD = 'unterminated":                               "X PASSWORD = '<redacted>'",
		"X PASSWORD = 'a', PASSWORD = 'b' Y":                       "X PASSWORD = '<redacted>', PASSWORD = '<redacted>' Y",
		`X PASSWORD = 'a\`:                                         "X PASSWORD = '<redacted>'",
		"create user 'u'@'%' identified by 'pw'":                   "create user 'u'@'%' identified by '<redacted>'",
		"SET PASSWORD = PASSWORD('pw')":                            "SET PASSWORD = PASSWORD('<redacted>')",
		"CHANGE MASTER TO MASTER_PASSWORD='pw', MASTER_HOST='h'":   "CHANGE MASTER TO MASTER_PASSWORD='<redacted>', MASTER_HOST='h'",
		"alter user u identified\n  by 'pw'":                       "alter user u identified\n  by '<redacted>'",
		"SET PASSWORD=PASSWORD( 'pw')":                             "SET PASSWORD=PASSWORD( '<redacted>')",
		`CHANGE MASTER TO MASTER_PASSWORD = "pw", MASTER_HOST='h'`: "CHANGE MASTER TO MASTER_PASSWORD = '<redacted>'",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// SQLModeAllowBackslashEscapes was run on MariaDB 10.11: from
// 'STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES,NO_ENGINE_SUBSTITUTION' it left
// 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION', from 'NO_BACKSLASH_ESCAPES'
// an empty mode. This checks the text stays that statement.
func TestSQLModeStatement(t *testing.T) {
	want := "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), " +
		"',NO_BACKSLASH_ESCAPES,', ','))"
	if SQLModeAllowBackslashEscapes != want {
		t.Errorf("got %s", SQLModeAllowBackslashEscapes)
	}
}

// unquoteNoBackslashEscapes reads a literal as the server does under
// NO_BACKSLASH_ESCAPES: only a doubled quote is special.
func unquoteNoBackslashEscapes(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", false
	}
	inner := lit[1 : len(lit)-1]
	if strings.Count(inner, "'")%2 != 0 || strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
		return "", false
	}
	return strings.ReplaceAll(inner, "''", "'"), true
}

// FuzzQuoteString: the literal reads back as the input under the server's
// default rules; it holds none of the bytes the server escapes; and for an
// input without backslash, NUL, newline, CR or Ctrl-Z it also reads back
// under NO_BACKSLASH_ESCAPES, as QuoteString documents.
func FuzzQuoteString(f *testing.F) {
	for _, s := range []string{"", "'", `\`, "a\x00b", "\n\r\x1a", "пароль", `''\\''`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := QuoteString(s)
		back, err := UnquoteString(q)
		if err != nil || back != s {
			t.Fatalf("QuoteString(%q) = %s reads back as %q, %v", s, q, back, err)
		}
		if strings.ContainsAny(q[1:len(q)-1], "\x00\n\r\x1a") {
			t.Fatalf("QuoteString(%q) = %q keeps a raw byte the server escapes", s, q)
		}
		if utf8.ValidString(s) != utf8.ValidString(q) {
			t.Fatalf("QuoteString(%q) changed UTF-8 validity", s)
		}
		if !strings.ContainsAny(s, "\\\x00\n\r\x1a") {
			if back, ok := unquoteNoBackslashEscapes(q); !ok || back != s {
				t.Fatalf("QuoteString(%q) = %s reads as %q under NO_BACKSLASH_ESCAPES", s, q, back)
			}
		}
	})
}

// FuzzRedact: whatever the password, the redacted statement is the same as
// for any other password, so nothing of it survives.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"pw", "'", `\`, "PASSWORD = 'x", "a\x1a"} {
		f.Add(s)
	}
	fl := MustParse("8.0.23")
	ref, _ := fl.ChangeSource(ChangeSourceOptions{Host: "h", User: "u", Password: "reference"})
	f.Fuzz(func(t *testing.T, pw string) {
		stmt, err := fl.ChangeSource(ChangeSourceOptions{Host: "h", User: "u", Password: pw})
		if err != nil {
			return // NUL, newline or CR: refused before any SQL exists
		}
		if got, want := Redact(stmt), Redact(ref); got != want {
			t.Fatalf("password %q: Redact gives %q, want %q", pw, got, want)
		}
	})
}

// Whole-second rounding of wait timeouts never reaches 0, which the
// servers read as "no timeout".
func TestCeilSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int64{
		time.Nanosecond: 1, 999 * time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2,
		90 * time.Second: 90, 1<<63 - 1: 9223372037,
	} {
		if got := ceilSeconds(d); got != want {
			t.Errorf("ceilSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}
