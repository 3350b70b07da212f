package gtid

import (
	"fmt"
	"strings"
)

// Flavor names a GTID dialect. Its values are the strings scripts use:
// rep.gtid(text, "mariadb").
type Flavor string

// The two flavors. Percona Server and other MySQL builds are MySQL.
const (
	MySQL   Flavor = "mysql"
	MariaDB Flavor = "mariadb"
)

// Set is a GTID set of either flavor, for callers that learn the flavor at
// run time (a server's reply, a script's argument). The zero Set has no
// flavor: it is empty, prints as "", and combining it with anything is an
// ErrFlavorMismatch.
//
// The methods that combine two sets return an error wrapping
// ErrFlavorMismatch when the flavors differ, so that a forgotten check
// cannot turn into a silent "no errant transactions". Code that knows its
// flavor should use MySQLSet or MariaDBSet, whose methods cannot mix.
type Set struct {
	flavor  Flavor
	mysql   MySQLSet
	mariadb MariaDBSet
}

// Parse reads a GTID set of the given flavor: ParseMySQL or ParseMariaDB.
func Parse(text string, flavor Flavor) (Set, error) {
	switch flavor {
	case MySQL:
		s, err := ParseMySQL(text)
		if err != nil {
			return Set{}, err
		}
		return s.AsSet(), nil
	case MariaDB:
		s, err := ParseMariaDB(text)
		if err != nil {
			return Set{}, err
		}
		return s.AsSet(), nil
	}
	return Set{}, unknownFlavor(flavor)
}

// ParseGTID reads a single GTID of the given flavor and returns the set
// holding it, ready for Contains.
func ParseGTID(text string, flavor Flavor) (Set, error) {
	switch flavor {
	case MySQL:
		g, err := ParseMySQLGTID(text)
		if err != nil {
			return Set{}, err
		}
		return g.AsSet().AsSet(), nil
	case MariaDB:
		g, err := ParseMariaDBGTID(text)
		if err != nil {
			return Set{}, err
		}
		return g.AsSet().AsSet(), nil
	}
	return Set{}, unknownFlavor(flavor)
}

func unknownFlavor(f Flavor) error {
	return fmt.Errorf("unknown gtid flavor %q (want %q or %q)", string(f), MySQL, MariaDB)
}

// ParseAny reads a GTID set and tells its flavor from its shape: MariaDB
// text holds only digits, '-', ',' and whitespace; anything else (a UUID,
// a colon) is read as MySQL. Empty text has no shape and is an error; use
// Parse with a flavor for it.
func ParseAny(text string) (Set, error) {
	if strings.TrimLeft(text, "0123456789-, \t\n\r\v\f") != "" {
		return Parse(text, MySQL)
	}
	if start, end := trimSpace(text); start == end {
		return Set{}, &ParseError{Kind: "gtid set", Text: text, Offset: 0,
			Reason: "empty text has no flavor"}
	}
	return Parse(text, MariaDB)
}

// Flavor is MySQL, MariaDB, or "" for the zero Set.
func (s Set) Flavor() Flavor { return s.flavor }

// MySQL returns the MySQL set inside s, if s is one.
func (s Set) MySQL() (MySQLSet, bool) { return s.mysql, s.flavor == MySQL }

// MariaDB returns the MariaDB position inside s, if s is one.
func (s Set) MariaDB() (MariaDBSet, bool) { return s.mariadb, s.flavor == MariaDB }

// String is the canonical text of the set, "" when empty.
func (s Set) String() string {
	switch s.flavor {
	case MySQL:
		return s.mysql.String()
	case MariaDB:
		return s.mariadb.String()
	}
	return ""
}

// IsEmpty reports whether s holds no GTID.
func (s Set) IsEmpty() bool {
	return s.mysql.IsEmpty() && s.mariadb.IsEmpty()
}

// Equal reports whether s and o have the same flavor and the same GTIDs.
// Sets of different flavors are not equal; that needs no error.
func (s Set) Equal(o Set) bool {
	if s.flavor != o.flavor {
		return false
	}
	return s.mysql.Equal(o.mysql) && s.mariadb.Equal(o.mariadb)
}

// Contains is MySQLSet.Contains or MariaDBSet.Contains.
func (s Set) Contains(o Set) (bool, error) {
	if err := s.sameFlavor(o, "contains"); err != nil {
		return false, err
	}
	if s.flavor == MySQL {
		return s.mysql.Contains(o.mysql), nil
	}
	return s.mariadb.Contains(o.mariadb), nil
}

// Union is MySQLSet.Union or MariaDBSet.Union.
func (s Set) Union(o Set) (Set, error) {
	if err := s.sameFlavor(o, "union"); err != nil {
		return Set{}, err
	}
	if s.flavor == MySQL {
		return s.mysql.Union(o.mysql).AsSet(), nil
	}
	return s.mariadb.Union(o.mariadb).AsSet(), nil
}

// Subtract is MySQLSet.Subtract or MariaDBSet.Subtract.
func (s Set) Subtract(o Set) (Set, error) {
	if err := s.sameFlavor(o, "subtract"); err != nil {
		return Set{}, err
	}
	if s.flavor == MySQL {
		return s.mysql.Subtract(o.mysql).AsSet(), nil
	}
	return s.mariadb.Subtract(o.mariadb).AsSet(), nil
}

func (s Set) sameFlavor(o Set, op string) error {
	if s.flavor == "" || s.flavor != o.flavor {
		return fmt.Errorf("gtid %s: %w (%s and %s)", op, ErrFlavorMismatch, flavorName(s.flavor), flavorName(o.flavor))
	}
	return nil
}
