package gtid

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is a place in a server's binary log: File and Position of SHOW
// BINARY LOG STATUS, or a replica's Relay_Source_Log_File and
// Exec_Source_Log_Pos. The zero value means "no position". Positions are
// comparable with ==.
type Position struct {
	File string
	Pos  uint64
}

// ParsePosition reads "mysql-bin.000012:4". Surrounding whitespace is
// ignored. The file is everything before the last colon, so it may itself
// contain colons; it must not be empty or contain control characters.
func ParsePosition(text string) (Position, error) {
	s := &scanner{kind: "binlog position", text: text}
	off, end := trimSpace(text)
	trimmed := text[off:end]
	colon := strings.LastIndexByte(trimmed, ':')
	if colon < 0 {
		return Position{}, s.errorf(off+len(trimmed), "expected FILE:POS")
	}
	file := trimmed[:colon]
	if file == "" {
		return Position{}, s.errorf(off, "empty file name")
	}
	for i := 0; i < len(file); i++ {
		if file[i] < 0x20 || file[i] == 0x7f {
			return Position{}, s.errorf(off+i, "control character in file name")
		}
	}
	s.pos = off + colon + 1
	pos, err := s.number("position", maxUint64)
	if err != nil {
		return Position{}, err
	}
	if s.pos != off+len(trimmed) {
		return Position{}, s.errorf(s.pos, "expected end of position")
	}
	return Position{File: file, Pos: pos}, nil
}

// String is "mysql-bin.000012:4", which ParsePosition reads back.
func (p Position) String() string {
	return p.File + ":" + strconv.FormatUint(p.Pos, 10)
}

// IsZero reports whether p is the zero Position.
func (p Position) IsZero() bool { return p == Position{} }

// Compare orders two positions of the same binary log: -1 if p is before o,
// 0 if equal, +1 if after. Files are ordered by the number after their last
// dot, as a number: the server counts mysql-bin.999999 on to
// mysql-bin.1000000, which sorts before it as text. Positions in logs with
// different base names (two servers, or a renamed log) have no order, and
// neither have file names without a numeric extension: both are errors.
func (p Position) Compare(o Position) (int, error) {
	pBase, pNum, err := splitLogName(p.File)
	if err != nil {
		return 0, fmt.Errorf("compare %s with %s: %w", p, o, err)
	}
	oBase, oNum, err := splitLogName(o.File)
	if err != nil {
		return 0, fmt.Errorf("compare %s with %s: %w", p, o, err)
	}
	if pBase != oBase {
		return 0, fmt.Errorf("compare %s with %s: different binary logs %q and %q", p, o, pBase, oBase)
	}
	if c := compareDecimal(pNum, oNum); c != 0 {
		return c, nil
	}
	if p.File != o.File {
		// Same number written with different zero padding: one server
		// never produces both, so these name two different logs.
		return 0, fmt.Errorf("compare %s with %s: files %q and %q have the same number", p, o, p.File, o.File)
	}
	switch {
	case p.Pos < o.Pos:
		return -1, nil
	case p.Pos > o.Pos:
		return 1, nil
	}
	return 0, nil
}

// splitLogName splits "mysql-bin.000012" into "mysql-bin." and "12" (the
// number without leading zeros, kept as text so that no length overflows).
func splitLogName(file string) (base, num string, err error) {
	dot := strings.LastIndexByte(file, '.')
	ext := file[dot+1:]
	if dot < 0 || ext == "" || strings.TrimLeft(ext, "0123456789") != "" {
		return "", "", fmt.Errorf("binlog file %q has no numeric extension", file)
	}
	num = strings.TrimLeft(ext, "0")
	if num == "" {
		num = "0"
	}
	return file[:dot+1], num, nil
}

// compareDecimal compares two digit strings without leading zeros.
func compareDecimal(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
