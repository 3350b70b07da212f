package flavor

import "strconv"

// OptionGroups returns the option-file groups the server reads, in no
// particular order: it takes options in the order it reads the lines,
// whatever their group, so the last line for a name in any of them wins.
//
// MariaDB: mariadbd reads [mysqld], [server], [mariadb], [mariadbd], their
// -MAJOR.MINOR forms, [client-server] and [galera] (my_print_defaults
// --mysqld prints the same set; 10.11, measured, see runtime/mycnf's
// server tests). MySQL: "mysqld reads the [mysqld] and [server] groups" and
// "[mysqld-8.0]" for that release series (refman, Using Option Files).
func (f Flavor) OptionGroups() []string {
	v := "-" + strconv.Itoa(f.Major) + "." + strconv.Itoa(f.Minor)
	if f.IsMariaDB() {
		return []string{"mysqld", "server", "mysqld" + v, "mariadb", "mariadb" + v, "mariadbd", "mariadbd" + v,
			"client-server", "galera"}
	}
	return []string{"mysqld", "server", "mysqld" + v}
}
