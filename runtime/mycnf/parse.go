package mycnf

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxFileSize bounds what Parse reads; real option files are a few KiB.
const maxFileSize = 16 << 20

type kind uint8

const (
	blankLine     kind = iota
	commentLine        // '#' or ';' after optional blanks
	sectionLine        // [group]
	directiveLine      // !include, !includedir, or a '!' line the server ignores
	optionLine         // name, name=value
)

// line is one physical line. raw holds its exact bytes, terminator included,
// so that writing the lines back reproduces the input; the other fields are
// what the server reads from raw.
type line struct {
	raw  string
	kind kind
	// group is the section name for a sectionLine, and the enclosing section
	// for an optionLine.
	group string

	// optionLine: raw[nameStart:nameEnd] is the name; eq is the index of
	// '=' or -1; raw[valStart:valEnd] is the value as written, quotes
	// included, and value is what a program receives.
	name               string
	key                string
	nameStart, nameEnd int
	eq                 int
	valStart, valEnd   int
	value              string

	// directiveLine: "include", "includedir", or "" when ignored.
	directive string
	arg       string
}

func (l *line) hasValue() bool { return l.eq >= 0 }

// SyntaxError is a line the server would reject or misread.
type SyntaxError struct {
	File string
	Line int // 1-based
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Parse reads an option file. name is used in error messages only.
func Parse(r io.Reader, name string) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxFileSize)
	}
	return parse(string(data), name)
}

// Load reads and parses the option file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load option file: %w", err)
	}
	return parse(string(data), path)
}

func parse(data, name string) (*File, error) {
	f := &File{name: name}
	group, inGroup := "", false
	for n, raw := range splitLines(data) {
		l, msg := parseLine(raw)
		if msg == "" && l.kind == optionLine && !inGroup {
			msg = fmt.Sprintf("option %q before any [section]; the server rejects it", l.name)
			if n == 0 && strings.HasPrefix(raw, "\xEF\xBB\xBF") {
				msg = "file starts with a UTF-8 byte order mark, which the server reads as an option before any [section]"
			}
		}
		if msg != "" {
			return nil, &SyntaxError{File: name, Line: n + 1, Msg: msg}
		}
		switch l.kind {
		case sectionLine:
			group, inGroup = l.group, true
		case optionLine:
			l.group, l.key = group, optionKey(group, l.name)
		}
		f.lines = append(f.lines, l)
	}
	return f, nil
}

// splitLines cuts after each '\n'; the last line may lack one. A lone '\r'
// is an ordinary byte to fgets, and a blank to the parser.
func splitLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n') + 1
		if i == 0 {
			i = len(s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// parseLine classifies one line the way search_default_file_with_ext does
// and returns an error message for what the server rejects or misreads.
func parseLine(raw string) (line, string) {
	l := line{raw: raw, eq: -1}
	if len(raw) > maxLine {
		return l, fmt.Sprintf("line is %d bytes; the server reads at most %d and would split it", len(raw), maxLine)
	}
	if strings.IndexByte(raw, 0) >= 0 {
		return l, "NUL byte (a damaged file?); the server would ignore the rest of the line"
	}
	i := skipSpace(raw, 0)
	if i == len(raw) {
		l.kind = blankLine
		return l, ""
	}
	switch raw[i] {
	case '#', ';':
		l.kind = commentLine
		return l, ""
	case '!':
		return parseDirective(l, i)
	case '[':
		end := strings.IndexByte(raw[i+1:], ']')
		if end < 0 {
			return l, "section header without ']'"
		}
		// Text after ']' is ignored by the server, so "[mysqld] # x" is fine.
		l.kind, l.group = sectionLine, raw[i+1:trimRight(raw, i+1, i+1+end)]
		return l, ""
	}
	return parseOption(l, i)
}

// parseDirective follows the server: '!', optional blanks, then "includedir"
// or "include" followed by a blank. Anything else after '!' is silently
// ignored, and so is a keyword followed by the end of the file.
func parseDirective(l line, bang int) (line, string) {
	l.kind = directiveLine
	raw := l.raw
	p := skipSpace(raw, bang+1)
	for _, kw := range []string{"includedir", "include"} {
		end := p + len(kw)
		if !strings.HasPrefix(raw[p:], kw) || end >= len(raw) || !isSpace(raw[end]) {
			continue
		}
		arg, ok := directiveArg(raw, end)
		if !ok {
			return l, fmt.Sprintf("'!%s' without a path", kw)
		}
		l.directive, l.arg = kw, arg
		return l, ""
	}
	return l, ""
}

// directiveArg is get_argument(). It assumes the line ends in '\n' and drops
// the last byte before trimming, so on a last line without a newline it eats
// the path's last character: "!include /etc/a.cnf" at EOF opens /etc/a.cn.
// We report what the server opens.
func directiveArg(raw string, from int) (string, bool) {
	p := skipSpace(raw, from)
	end := len(raw) - 1
	for end > 0 && isSpace(raw[end-1]) {
		end--
	}
	if end <= p {
		return "", false
	}
	return raw[p:end], true
}

// parseOption reads "name", "name = value" or "name = value # comment".
// The name runs to the first '=' (or the comment), trailing blanks trimmed.
func parseOption(l line, start int) (line, string) {
	raw := l.raw
	l.kind, l.nameStart = optionLine, start
	stop := commentStart(raw, start)
	nameEnd := stop
	if eq := strings.IndexByte(raw[start:stop], '='); eq >= 0 {
		l.eq = start + eq
		nameEnd = l.eq
	}
	l.nameEnd = trimRight(raw, start, nameEnd)
	if l.nameEnd == start {
		// The server reads before its buffer here (undefined behaviour), and
		// every program rejects the result.
		return l, "option without a name"
	}
	l.name = raw[start:l.nameEnd]
	if l.eq < 0 {
		return l, ""
	}
	// Blanks on both sides of the value are dropped. An empty value sits
	// right after '=', so that an edit never swallows the line's terminator.
	l.valEnd = trimRight(raw, l.eq+1, stop)
	l.valStart = skipSpace(raw[:l.valEnd], l.eq+1)
	l.value = decodeValue(raw[l.valStart:l.valEnd])
	return l, ""
}

// Bytes returns the file's content: the input bytes, plus any edits.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	for i := range f.lines {
		b.WriteString(f.lines[i].raw)
	}
	return b.Bytes()
}

// WriteTo writes the file's content to w.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(f.Bytes())
	return int64(n), err
}
