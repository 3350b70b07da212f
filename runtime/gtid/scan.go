package gtid

import "math"

// scanner walks a text left to right for the hand-written parsers. It works
// on bytes: every valid token is ASCII, so any other byte is simply an error
// at its offset.
type scanner struct {
	kind string // for ParseError.Kind
	text string
	pos  int
}

func (s *scanner) eof() bool { return s.pos >= len(s.text) }

// peek returns the current byte, or 0 at the end of the text.
func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.text[s.pos]
}

func (s *scanner) consume(c byte) bool {
	if s.peek() == c && !s.eof() {
		s.pos++
		return true
	}
	return false
}

// skipSpace skips the bytes C's isspace accepts. MySQL skips them around
// every token of a GTID set (SKIP_WHITESPACE in Gtid_set::add_gtid_text)
// and prints multi-UUID sets with ",\n", so text copied from a terminal or
// a query result keeps its newlines.
func (s *scanner) skipSpace() {
	for !s.eof() && isSpace(s.text[s.pos]) {
		s.pos++
	}
}

// trimSpace returns the bounds of text without the spaces at either end.
func trimSpace(text string) (start, end int) {
	start, end = 0, len(text)
	for start < end && isSpace(text[start]) {
		start++
	}
	for end > start && isSpace(text[end-1]) {
		end--
	}
	return start, end
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *scanner) errorf(at int, reason string) *ParseError {
	return &ParseError{Kind: s.kind, Text: s.text, Offset: at, Reason: reason}
}

// number reads a run of decimal digits no greater than max. Signs, hex and
// other strtoll niceties are rejected: servers never print them.
func (s *scanner) number(what string, max uint64) (uint64, *ParseError) {
	start := s.pos
	var v uint64
	for !s.eof() && isDigit(s.text[s.pos]) {
		d := uint64(s.text[s.pos] - '0')
		if v > (max-d)/10 {
			return 0, s.errorf(start, what+" out of range (max "+utoa(max)+")")
		}
		v = v*10 + d
		s.pos++
	}
	if s.pos == start {
		return 0, s.errorf(start, "expected "+what)
	}
	return v, nil
}

func utoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

const (
	maxUint32 = math.MaxUint32
	maxUint64 = math.MaxUint64
)
