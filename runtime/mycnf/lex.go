package mycnf

import "strings"

// The rules in this file copy the option-file reader that MySQL and MariaDB
// share: search_default_file_with_ext() and remove_end_comment() in
// mysys/my_default.c (MariaDB) and mysys/my_default.cc (MySQL 8), which agree
// line for line. The manuals ("Using Option Files", "Configuring MariaDB with
// Option Files") describe the same rules less precisely; where they are
// silent, the source and my_print_defaults decide.

// maxLine is the longest line, terminator included, that the server reads in
// one piece: it calls fgets(buff, sizeof(buff)-1) with a 4096-byte buffer, so
// a longer line is silently split and its tail read as a line of its own.
const maxLine = 4094

// isSpace is my_isspace(&my_charset_latin1, c): the ASCII blanks \t \n \v \f
// \r and space, and also 0xA0, which is NO-BREAK SPACE in latin1. So a UTF-8
// value ending in "à" (C3 A0) loses its last byte unless quoted; the test
// suite shows my_print_defaults doing exactly that.
func isSpace(c byte) bool {
	return c == ' ' || ('\t' <= c && c <= '\r') || c == 0xA0
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// trimRight returns the end of s[start:end] without its trailing blanks.
func trimRight(s string, start, end int) int {
	for end > start && isSpace(s[end-1]) {
		end--
	}
	return end
}

// commentStart is remove_end_comment(): the index of the first '#' outside
// quotes, or len(s). Quote state runs over the whole line, name included, and
// a backslash escapes only inside quotes. So "a = x#y" has value "x", while
// `a = "x#y"` keeps the '#'. A ';' after a value is not a comment.
func commentStart(s string, from int) int {
	var quote byte
	escape := false
	for i := from; i < len(s); i++ {
		c := s[i]
		if (c == '\'' || c == '"') && !escape {
			if quote == 0 {
				quote = c
			} else if quote == c {
				quote = 0
			}
		}
		if quote == 0 && c == '#' {
			return i
		}
		escape = quote != 0 && c == '\\' && !escape
	}
	return len(s)
}

// isQuoted reports whether the server strips quotes from a raw value: it
// starts with ' or ", is longer than one byte and ends with the same quote.
func isQuoted(raw string) bool {
	return len(raw) >= 2 && (raw[0] == '"' || raw[0] == '\'') && raw[len(raw)-1] == raw[0]
}

// decodeValue turns the raw text after '=' (already trimmed) into the value
// a program receives: quotes stripped, then \b \t \n \r \s \\ \" \' decoded.
// An unknown escape keeps its backslash, and so does a trailing backslash
// (so Windows paths such as C:\data mostly survive unquoted).
func decodeValue(raw string) string {
	if isQuoted(raw) {
		raw = raw[1 : len(raw)-1]
	}
	if strings.IndexByte(raw, '\\') < 0 {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i == len(raw)-1 {
			b.WriteByte(c)
			continue
		}
		i++
		switch c = raw[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 's':
			b.WriteByte(' ')
		case '"', '\'', '\\':
			b.WriteByte(c)
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String()
}

// bare reports whether v can be written without quotes and read back as v:
// no blank at either end (the server trims them), nothing that starts a
// comment, a quote or an escape, and no control byte.
func bare(v string) bool {
	if v == "" || isSpace(v[0]) || isSpace(v[len(v)-1]) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f || strings.IndexByte("#'\"\\", c) >= 0 {
			return false
		}
	}
	return true
}

// encodeValue writes v so that decodeValue returns it. quote is the quote
// character to use, or 0 for "bare when possible, double quotes otherwise".
// A NUL byte cannot be written (the server reads lines as C strings); the
// caller rejects it.
func encodeValue(v string, quote byte) string {
	if quote == 0 {
		if bare(v) {
			return v
		}
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\', quote:
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// optionKey is the name under which Get, Set and Remove match options, as
// mariadbd reads names: '-' and '_' equal, letters in any case
// ("Server-Id = 8" and "LOOSE-SERVER-ID = 14" set server_id; 10.11,
// measured with --verbose --help), and a "loose-" prefix only turns an
// unknown-option error into a warning, so "loose-log-bin" sets log_bin. The
// other prefixes (skip-, disable-, enable-, maximum-, autoset-) change the
// meaning, and skip-name-resolve is an option in its own right, so they stay
// in the key. A unique prefix of a server option stands for it, as in
// my_getopt's findopt: "server-i = 8" sets server_id (with a Note "Using
// unique option prefix 'server-i' is error-prone"), while "log-b" is
// ambiguous, which the server refuses at startup; see fullName. Names are
// completed only in the groups the server reads (ServerGroup): client
// programs have options of their own.
func optionKey(group, name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c == '-':
			b[i] = '_'
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	k := string(b)
	for strings.HasPrefix(k, "loose_") && len(k) > len("loose_") {
		k = k[len("loose_"):]
	}
	if !ServerGroup(group) {
		return k
	}
	full, _ := fullName(k)
	return full
}

// sameSection compares group names as find_type() does: case-insensitively
// under latin1, byte by byte. "[MySQLd]" is read by mysqld; "[ mysqld]" is
// not, because the reader keeps leading blanks in a group name.
func sameSection(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if upperLatin1(a[i]) != upperLatin1(b[i]) {
			return false
		}
	}
	return true
}

func upperLatin1(c byte) byte {
	if 'a' <= c && c <= 'z' || 0xE0 <= c && c <= 0xFE && c != 0xF7 {
		return c - 0x20
	}
	return c
}
