package gtid

import "strings"

// maxTagLen is mysql::gtid::tag_max_length.
const maxTagLen = 32

// ParseMySQL reads a MySQL GTID set such as
//
//	3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7,
//	4f1f5a70-1bd8-11ef-9a3c-0242ac120002:1-3:billing:1-9
//
// It accepts what the server prints and, like Gtid_set::add_gtid_text,
// whitespace (newlines included) around every token, UUIDs in either case,
// tags in either case (stored lower case), overlapping or unsorted
// intervals, a UUID repeated in several elements, and empty elements between
// commas. The empty string is the empty set.
//
// It is stricter than the server where the server's leniency hides a
// mistake: a sequence number is decimal digits only (strtoll would read
// "010" as octal 8, so leading zeros are refused), an interval whose end is
// before its start is an error (MySQL silently drops it), and a UUID or tag
// must be followed by at least one interval (MySQL accepts "uuid" alone and
// adds nothing).
func ParseMySQL(text string) (MySQLSet, error) {
	s := &scanner{kind: "mysql gtid set", text: text}
	// Most elements are UUID:interval, so the number of colons is a good
	// bound for the intervals, as in add_gtid_text.
	all := make([]interval, 0, strings.Count(text, ":"))
	var entries []mysqlEntry
	for {
		s.skipSpace()
		if s.eof() {
			break
		}
		if s.consume(',') {
			continue
		}
		var err *ParseError
		if entries, all, err = s.mysqlElement(entries, all); err != nil {
			return MySQLSet{}, err
		}
		s.skipSpace()
		if !s.eof() && !s.consume(',') {
			return MySQLSet{}, s.errorf(s.pos, "expected ',' or ':' or end of set")
		}
	}
	return MySQLSet{entries: normalizeEntries(entries)}, nil
}

// mysqlElement reads "uuid(:tag|:interval)+" and appends one entry per
// tsid it names. Intervals go to all; each entry gets a capped sub-slice
// of it, so appending to all never writes into an earlier entry's slice.
func (s *scanner) mysqlElement(entries []mysqlEntry, all []interval) ([]mysqlEntry, []interval, *ParseError) {
	u, err := s.uuid()
	if err != nil {
		return nil, nil, err
	}
	key := tsid{uuid: u}
	from := len(all)
	flush := func() {
		if len(all) > from {
			entries = append(entries, mysqlEntry{key: key, ivs: all[from:len(all):len(all)]})
			from = len(all)
		}
	}
	s.skipSpace()
	if !s.consume(':') {
		return nil, nil, s.errorf(s.pos, "expected ':' after UUID")
	}
	for {
		s.skipSpace()
		if isTagStart(s.peek()) {
			tagAt := s.pos
			tag, err := s.tag()
			if err != nil {
				return nil, nil, err
			}
			flush()
			key.tag = tag
			s.skipSpace()
			if !s.consume(':') {
				return nil, nil, s.errorf(tagAt, "tag "+tag+" has no interval")
			}
			s.skipSpace()
			if isTagStart(s.peek()) {
				return nil, nil, s.errorf(tagAt, "tag "+tag+" has no interval")
			}
			continue
		}
		iv, err := s.interval()
		if err != nil {
			return nil, nil, err
		}
		all = append(all, iv)
		s.skipSpace()
		if !s.consume(':') {
			break
		}
	}
	flush()
	return entries, all, nil
}

func isTagStart(c byte) bool {
	return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isTagChar(c byte) bool { return isTagStart(c) || isDigit(c) }

// tag reads [A-Za-z_][A-Za-z0-9_]{0,31} and returns it lower case: MySQL
// compares tags case-insensitively by storing them lowered (Tag::replace).
func (s *scanner) tag() (string, *ParseError) {
	start := s.pos
	for !s.eof() && isTagChar(s.text[s.pos]) {
		s.pos++
	}
	if s.pos-start > maxTagLen {
		return "", s.errorf(start, "tag longer than 32 characters")
	}
	return strings.ToLower(s.text[start:s.pos]), nil
}

// interval reads "N" or "N-M".
func (s *scanner) interval() (interval, *ParseError) {
	startAt := s.pos
	start, err := s.gno()
	if err != nil {
		return interval{}, err
	}
	s.skipSpace()
	if !s.consume('-') {
		return interval{start, start}, nil
	}
	s.skipSpace()
	end, err := s.gno()
	if err != nil {
		return interval{}, err
	}
	if end < start {
		return interval{}, s.errorf(startAt, "interval ends before it starts")
	}
	return interval{start, end}, nil
}

// gno reads a MySQL sequence number, 1..maxGNO.
func (s *scanner) gno() (uint64, *ParseError) {
	at := s.pos
	if s.peek() == '0' {
		if s.pos+1 < len(s.text) && isDigit(s.text[s.pos+1]) {
			return 0, s.errorf(at, "sequence number with a leading zero")
		}
		return 0, s.errorf(at, "sequence number 0 (MySQL numbers transactions from 1)")
	}
	return s.number("sequence number", maxGNO)
}

// MySQLGTID is a single MySQL GTID, "uuid:N" or "uuid:tag:N". The zero
// value is "no GTID"; its AsSet is the empty set.
type MySQLGTID struct {
	// Fields are unexported so that a GTID always holds a lower-case valid
	// tag and a sequence number in range, as the sets built from it must.
	key tsid
	seq uint64
}

// ParseMySQLGTID reads one GTID as @@gtid_next takes it.
func ParseMySQLGTID(text string) (MySQLGTID, error) {
	s := &scanner{kind: "mysql gtid", text: text}
	s.skipSpace()
	u, err := s.uuid()
	if err != nil {
		return MySQLGTID{}, err
	}
	g := MySQLGTID{key: tsid{uuid: u}}
	s.skipSpace()
	if !s.consume(':') {
		return MySQLGTID{}, s.errorf(s.pos, "expected ':' after UUID")
	}
	s.skipSpace()
	if isTagStart(s.peek()) {
		if g.key.tag, err = s.tag(); err != nil {
			return MySQLGTID{}, err
		}
		s.skipSpace()
		if !s.consume(':') {
			return MySQLGTID{}, s.errorf(s.pos, "expected ':' after tag")
		}
		s.skipSpace()
	}
	if g.seq, err = s.gno(); err != nil {
		return MySQLGTID{}, err
	}
	s.skipSpace()
	if !s.eof() {
		return MySQLGTID{}, s.errorf(s.pos, "expected end of gtid")
	}
	return g, nil
}

// UUID is the source server's UUID.
func (g MySQLGTID) UUID() UUID { return g.key.uuid }

// Tag is the lower-case tag, "" for an untagged GTID.
func (g MySQLGTID) Tag() string { return g.key.tag }

// Seq is the sequence number (GNO).
func (g MySQLGTID) Seq() uint64 { return g.seq }

// IsZero reports whether g is the zero MySQLGTID.
func (g MySQLGTID) IsZero() bool { return g == MySQLGTID{} }

// String is "uuid:N" or "uuid:tag:N", lower case.
func (g MySQLGTID) String() string {
	if g.IsZero() {
		return ""
	}
	return g.AsSet().String()
}

// AsSet returns the set holding just g.
func (g MySQLGTID) AsSet() MySQLSet {
	if g.seq == 0 {
		return MySQLSet{}
	}
	return MySQLSet{entries: []mysqlEntry{{key: g.key, ivs: []interval{{g.seq, g.seq}}}}}
}
