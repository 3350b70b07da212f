package gtid

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrFlavorMismatch is wrapped by the Set methods that are given sets of two
// different flavors (or a zero Set, which has no flavor).
var ErrFlavorMismatch = errors.New("gtid sets of different flavors")

// ParseError reports text that is not a valid position, GTID or GTID set.
type ParseError struct {
	// Kind names what was being parsed, e.g. "mysql gtid set".
	Kind string
	// Text is the whole input.
	Text string
	// Offset is the byte offset in Text where parsing failed.
	Offset int
	// Reason says what was wrong there.
	Reason string
}

// maxQuoted bounds how much of the input an error message repeats: a
// gtid_executed of a long-lived fleet can run to many kilobytes, which
// would drown the message (MySQL clips its own message to 200 bytes).
const maxQuoted = 200

func (e *ParseError) Error() string {
	msg := fmt.Sprintf("%s %s: %s at offset %d", e.Kind, clipQuote(e.Text, maxQuoted), e.Reason, e.Offset)
	if e.Offset >= 0 && e.Offset < len(e.Text) {
		msg += " near " + clipQuote(e.Text[e.Offset:], 20)
	}
	return msg
}

func clipQuote(s string, max int) string {
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + "..."
}

func flavorName(f Flavor) string {
	if f == "" {
		return "no flavor"
	}
	return string(f)
}
