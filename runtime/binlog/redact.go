package binlog

import "regexp"

// The server writes account statements to the binary log with their
// passwords in clear: MariaDB 10.11 logs "CREATE USER IF NOT EXISTS
// 'repl'@'%' IDENTIFIED BY 'secret'" as it was typed. Event text is
// printed by playbooks and examples, and secrets must never reach output,
// so the literal goes. Hashes (IDENTIFIED BY PASSWORD '*…', AS '…') stay:
// they are what the server stores, not what a client types.
var passwordLiterals = []*regexp.Regexp{
	// IDENTIFIED BY 'pw', IDENTIFIED WITH plugin BY 'pw' (MySQL)
	regexp.MustCompile(`(?i)(\bIDENTIFIED\s+(?:WITH\s+\S+\s+)?BY\s+)` + literal),
	// PASSWORD('pw'), as in IDENTIFIED VIA ed25519 USING PASSWORD('pw')
	regexp.MustCompile(`(?i)(\bPASSWORD\s*\(\s*)` + literal),
	// SET PASSWORD [FOR user] = 'pw'
	regexp.MustCompile(`(?i)(\bSET\s+PASSWORD\b[^=]*=\s*)` + literal),
}

// literal is a quoted SQL string: either quote, doubled or backslashed
// quotes inside.
const literal = `(?:'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")`

// redactPasswords replaces the password literals of query.
func redactPasswords(query string) string {
	for _, re := range passwordLiterals {
		query = re.ReplaceAllString(query, "${1}'<redacted>'")
	}
	return query
}
