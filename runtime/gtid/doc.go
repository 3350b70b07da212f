// Package gtid holds the replication coordinates of MySQL and MariaDB as
// immutable values: binary log positions (Position), MySQL GTID sets
// (MySQLSet, including the tagged GTIDs of MySQL 8.3+), MariaDB GTID
// positions (MariaDBSet) and a flavor-tagged Set for callers that learn the
// flavor at run time, such as the Lua bindings.
//
// The package does no I/O and knows nothing of Lua. Every value is safe to
// share between goroutines: no method changes its receiver or its argument,
// and results never alias memory that a caller could change.
//
// Sequence numbers are exact uint64 values; nothing here goes through a
// float64. Parsers return a *ParseError naming the text and the offset of
// the problem; they never panic.
//
// Combining two sets: MySQLSet and MariaDBSet methods take a set of their
// own type, so the compiler rules out mixing flavors. Set, whose flavor is
// only known at run time, has the same methods but the ones that combine two
// sets return an error wrapping ErrFlavorMismatch instead of guessing: an
// errant-transaction check that silently compared a MySQL set with a MariaDB
// one would report "no errant transactions" and let a failover go on.
package gtid
