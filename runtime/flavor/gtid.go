package flavor

import (
	"fmt"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// GTIDFlavor is the GTID dialect of a server of this flavor: MariaDB's
// domain-server-sequence sets, or MySQL's uuid:intervals.
func (f Flavor) GTIDFlavor() gtid.Flavor { return GTIDFlavorOf(f.IsMariaDB()) }

// GTIDFlavorOf is GTIDFlavor for callers that only know whether the
// server is MariaDB (a manifest, a backup tool's output).
func GTIDFlavorOf(mariadb bool) gtid.Flavor {
	if mariadb {
		return gtid.MariaDB
	}
	return gtid.MySQL
}

// LastGTIDQuery returns a query for one row with one column, gtid: the
// GTID of the session's last transaction, "" before its first. MariaDB
// keeps it in @@last_gtid. MySQL reports it only through session state
// tracking (session_track_gtids, in the OK packet), which a query cannot
// read: an error.
func (f Flavor) LastGTIDQuery() (string, error) {
	if f.IsMariaDB() {
		return "SELECT @@SESSION.last_gtid AS gtid", nil
	}
	return "", fmt.Errorf("%s: no query for the last GTID of a session (MySQL tracks it in the OK packet, session_track_gtids)", f.Version())
}
