package flavor

import "github.com/replicant-lua/replicant-lua/runtime/gtid"

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
