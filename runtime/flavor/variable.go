package flavor

import (
	"fmt"
	"regexp"
)

var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// SetVariable returns the statement that sets global variable name to the
// value of one placeholder. With persist, the value also survives a
// restart: SET PERSIST on MySQL 8.0+. MariaDB and MySQL 5.7 have no SET
// PERSIST; there the option file is the only lasting place, so persist is
// an error that says so rather than a change that quietly reverts at the
// next restart.
func (f Flavor) SetVariable(name string, persist bool) (string, error) {
	if !variableName.MatchString(name) {
		return "", fmt.Errorf("set variable: %q is not a variable name", name)
	}
	if !persist {
		return "SET GLOBAL " + name + " = ?", nil
	}
	if f.IsMariaDB() || !f.AtLeast(8, 0, 0) {
		return "", fmt.Errorf("set variable %s: %s has no SET PERSIST; set it in the option file too", name, f)
	}
	return "SET PERSIST " + name + " = ?", nil
}

// DemoteStatements returns what makes an old primary's own transactions
// count as applied before it follows a new primary by GTID, for servers
// whose CHANGE statement cannot say so itself (see
// SupportsDemoteToReplica), and clears opts.DemoteToReplica accordingly.
//
// MariaDB before 10.10: gtid_slave_pos is empty on a server that was a
// primary, so MASTER_USE_GTID=slave_pos would ask the new primary for
// everything from the start, which works only while it still has every
// binlog (after a PURGE: error 1236, docs/MARIADB-FACTS.md). Copying
// gtid_binlog_pos into gtid_slave_pos first is what MASTER_DEMOTE_TO_SLAVE
// does on 10.10+. MySQL's auto-position already counts gtid_executed, so
// nothing is needed there.
func (f Flavor) DemoteStatements(opts *ChangeSourceOptions) []string {
	if !opts.DemoteToReplica || f.SupportsDemoteToReplica() {
		return nil
	}
	opts.DemoteToReplica = false
	opts.GTID = GTIDAutoPosition
	if f.IsMariaDB() {
		return []string{"SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos"}
	}
	return nil
}

// GTIDStateQuery returns one row with every GTID variable topology needs:
// MySQL's gtid_executed; MariaDB's gtid_binlog_pos, gtid_slave_pos,
// gtid_current_pos (see GTIDExecutedQuery for what each means) and
// gtid_binlog_state, which keeps one GTID per (domain, server_id) ever
// logged and is what errant-transaction checks compare. It is a SELECT
// because SHOW VARIABLES cuts MySQL values at 1024 characters.
func (f Flavor) GTIDStateQuery() string {
	if f.IsMariaDB() {
		return "SELECT @@GLOBAL.gtid_binlog_pos AS gtid_binlog_pos, @@GLOBAL.gtid_slave_pos AS gtid_slave_pos, " +
			"@@GLOBAL.gtid_current_pos AS gtid_current_pos, @@GLOBAL.gtid_binlog_state AS gtid_binlog_state"
	}
	return "SELECT @@GLOBAL.gtid_executed AS gtid_executed"
}

// CreateUser returns the statements that make user@host exist with
// password, whether or not it existed: CREATE USER IF NOT EXISTS, then
// ALTER USER to set the password in case it did. Nothing is dropped, so
// nothing can fail halfway with the account gone.
func (f Flavor) CreateUser(user, host, password string) []string {
	account := QuoteString(user) + "@" + QuoteString(host)
	return []string{
		"CREATE USER IF NOT EXISTS " + account + " IDENTIFIED BY " + QuoteString(password),
		"ALTER USER " + account + " IDENTIFIED BY " + QuoteString(password),
	}
}

// GrantReplication returns the GRANT a replication account needs: to read
// the binary log as a replica, and on MariaDB 10.5+ (where SUPER was split)
// to see binlog status and manage its own replication when it is later a
// replica itself (docs/MARIADB-FACTS.md).
func (f Flavor) GrantReplication(user, host string) string {
	privileges := "REPLICATION SLAVE, REPLICATION CLIENT"
	if f.IsMariaDB() && f.AtLeast(10, 5, 2) {
		privileges = "REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR"
	}
	return "GRANT " + privileges + " ON *.* TO " + QuoteString(user) + "@" + QuoteString(host)
}
