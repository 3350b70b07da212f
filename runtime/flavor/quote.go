package flavor

import (
	"fmt"
	"regexp"
	"strings"
)

// QuoteString returns s as a single-quoted SQL string literal. It is needed
// where the server takes no placeholders: CHANGE MASTER / CHANGE REPLICATION
// SOURCE TO and START REPLICA UNTIL only accept literals.
//
// The escaping follows the server's own (mysql_real_escape_string), with one
// change: a quote is written twice rather than after a backslash, because
// the doubled quote means one quote under every sql_mode. Backslash, NUL, newline, carriage
// return and Ctrl-Z become \\, \0, \n, \r and \Z. Everything else, including
// '"' and any UTF-8, is copied byte for byte.
//
// sql_mode NO_BACKSLASH_ESCAPES: under it a backslash is an ordinary
// character, so \\ would read as two backslashes. No literal spells a
// backslash correctly under both modes, and CHANGE MASTER takes no
// expression (CHAR(92), X'5C') in place of a literal. We chose the default
// mode: statements built here must run on a session without
// NO_BACKSLASH_ESCAPES, which SQLModeAllowBackslashEscapes sets. A string
// with none of \ NUL \n \r Ctrl-Z quotes the same under both modes.
func QuoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// UnquoteString reads back a literal as the server does with backslash
// escapes on: the inverse of QuoteString, also accepting the other escapes
// the server knows (\' \" \b \t, and \x for any other x meaning x). It is
// the test oracle for QuoteString and what Redact uses to find the end of a
// literal.
func UnquoteString(lit string) (string, error) {
	s, n, err := scanLiteral(lit)
	if err != nil {
		return "", err
	}
	if n != len(lit) {
		return "", fmt.Errorf("text after the closing quote at byte %d", n)
	}
	return s, nil
}

// scanLiteral reads one single-quoted literal at the start of text and
// returns its value and the number of bytes it spans.
func scanLiteral(text string) (string, int, error) {
	if text == "" || text[0] != '\'' {
		return "", 0, fmt.Errorf("string literal must start with a quote")
	}
	var b strings.Builder
	for i := 1; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\'' && i+1 < len(text) && text[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == '\'':
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(text):
			i++
			b.WriteByte(unescape(text[i]))
		case c == '\\':
			return "", 0, fmt.Errorf("backslash at the end of the literal")
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated string literal")
}

// unescape maps the character after a backslash as the server's lexer does
// ("\%" and "\_" keep their backslash only inside LIKE patterns, which this
// package never builds).
func unescape(c byte) byte {
	switch c {
	case '0':
		return 0
	case 'b':
		return '\b'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'Z':
		return 0x1a
	}
	return c
}

// QuoteIdentifier returns name in backticks, a backtick inside doubled: the
// one identifier quoting that MySQL and MariaDB accept under every sql_mode
// (ANSI_QUOTES only adds double quotes). Backslashes are not special inside
// backticks. The servers reject NUL in identifiers; this function does not
// check.
func QuoteIdentifier(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// SQLModeAllowBackslashEscapes removes NO_BACKSLASH_ESCAPES from the
// session's sql_mode and keeps every other mode. Run it once per session
// before statements built with QuoteString. The server normalises sql_mode
// to a comma list without repeats, so wrapping it in commas and replacing
// ",NO_BACKSLASH_ESCAPES," removes exactly that mode; an empty element would
// be rejected (SET sql_mode='A,,B' gives error 1231 on MariaDB 10.11).
const SQLModeAllowBackslashEscapes = "SET SESSION sql_mode = TRIM(BOTH ',' FROM " +
	"REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))"

// redactedPassword replaces password literals in Redact.
const redactedPassword = "'<redacted>'"

// Redact returns stmt with the value of every password literal replaced
// (MASTER_PASSWORD = '...', SOURCE_PASSWORD = '...', IDENTIFIED BY '...',
// PASSWORD('...'), in any letter case), so that a CHANGE SOURCE or CREATE
// USER statement can be logged, audited or shown in a dry-run plan. A
// literal it cannot parse is cut off with everything after it, never
// printed.
func Redact(stmt string) string {
	var b strings.Builder
	rest := stmt
	for {
		i, key := nextPasswordKey(rest)
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i+len(key)])
		rest = rest[i+len(key):]
		if strings.HasPrefix(rest, `"`) {
			// A double-quoted literal (sql_mode without ANSI_QUOTES):
			// cut off with the rest, as a literal that does not parse.
			b.WriteString(redactedPassword)
			return b.String()
		}
		if !strings.HasPrefix(rest, "'") {
			continue
		}
		_, n, err := scanLiteral(rest)
		b.WriteString(redactedPassword)
		if err != nil {
			return b.String()
		}
		rest = rest[n:]
	}
}

// passwordKey is the text a password literal follows, however spaced:
// the server's lexer takes MASTER_PASSWORD='x' and IDENTIFIED  BY 'x' too.
var passwordKey = regexp.MustCompile(`PASSWORD\s*=\s*|IDENTIFIED\s+BY\s+|PASSWORD\s*\(\s*`)

// nextPasswordKey finds the first password key in s, ignoring ASCII case.
func nextPasswordKey(s string) (int, string) {
	loc := passwordKey.FindStringIndex(asciiUpper(s))
	if loc == nil {
		return -1, ""
	}
	return loc[0], s[loc[0]:loc[1]]
}

// asciiUpper upper-cases ASCII letters only, so byte offsets stay those of
// s.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
