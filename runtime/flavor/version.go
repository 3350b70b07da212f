// Package flavor is the only place that knows how MySQL and MariaDB differ.
// Callers ask it for SQL text and for the meaning of status columns; they
// never branch on a version themselves.
package flavor

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind tells MySQL and MariaDB apart. Percona Server and other MySQL builds
// are MySQL.
type Kind int

const (
	Unknown Kind = iota
	MySQL
	MariaDB
)

func (k Kind) String() string {
	switch k {
	case MySQL:
		return "mysql"
	case MariaDB:
		return "mariadb"
	}
	return "unknown"
}

// Flavor is a server's product and version, as parsed from @@version.
type Flavor struct {
	Kind                Kind
	Major, Minor, Patch int
	// Raw is the version string the server reported, kept for messages.
	Raw string
}

// mariaDBReplicationPrefix is what MariaDB 10.x and later put in front of
// their version in the handshake, so that old MySQL replicas would accept
// them as a 5.5 primary.
const mariaDBReplicationPrefix = "5.5.5-"

// Parse reads a version string such as "8.0.36", "8.4.0-commercial",
// "10.11.6-MariaDB-0+deb12u1-log" or the handshake form
// "5.5.5-10.11.6-MariaDB".
func Parse(version string) (Flavor, error) {
	f := Flavor{Raw: version}
	v := strings.TrimSpace(version)
	if v == "" {
		return f, fmt.Errorf("empty server version")
	}
	f.Kind = MySQL
	if strings.Contains(strings.ToLower(v), "mariadb") {
		f.Kind = MariaDB
		v = strings.TrimPrefix(v, mariaDBReplicationPrefix)
	}
	numbers := v
	if i := strings.IndexAny(numbers, "-+ ~"); i >= 0 {
		numbers = numbers[:i]
	}
	parts := strings.Split(numbers, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return f, fmt.Errorf("server version %q: want MAJOR.MINOR[.PATCH]", version)
	}
	dst := []*int{&f.Major, &f.Minor, &f.Patch}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return f, fmt.Errorf("server version %q: %q is not a number", version, p)
		}
		*dst[i] = n
	}
	return f, nil
}

// MustParse is Parse for constant strings in tests and tables; it panics on
// a bad version.
func MustParse(version string) Flavor {
	f, err := Parse(version)
	if err != nil {
		panic(err)
	}
	return f
}

// AtLeast reports whether the server's version is major.minor.patch or later.
func (f Flavor) AtLeast(major, minor, patch int) bool {
	if f.Major != major {
		return f.Major > major
	}
	if f.Minor != minor {
		return f.Minor > minor
	}
	return f.Patch >= patch
}

// IsMariaDB and IsMySQL read better at call sites than comparing Kind.
func (f Flavor) IsMariaDB() bool { return f.Kind == MariaDB }
func (f Flavor) IsMySQL() bool   { return f.Kind == MySQL }

// Version is "10.11.6".
func (f Flavor) Version() string {
	return fmt.Sprintf("%d.%d.%d", f.Major, f.Minor, f.Patch)
}

// String is "mariadb 10.11.6".
func (f Flavor) String() string {
	return f.Kind.String() + " " + f.Version()
}
