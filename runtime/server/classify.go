package server

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// ReadOnly reports whether a dry run may execute a statement: whether it
// is known to change nothing beyond this session. It fails closed: it
// answers true only for the forms it recognises (SELECT, WITH ... SELECT,
// VALUES and TABLE without INTO or locking clauses and calling only
// built-in functions without side effects; SHOW; DESCRIBE and EXPLAIN
// without ANALYZE; HELP; DO of such expressions; a session SET of
// variables named in harmlessSession), and gives the reason otherwise.
func ReadOnly(query string) (bool, string) {
	if c, hit := classified.Load(query); hit {
		v := c.(classification)
		return v.ok, v.why
	}
	ok, why := classify(query)
	if ok && len(query) <= maxClassifiedLen && classifiedCount.Add(1) <= maxClassified {
		classified.Store(query, classification{ok, why})
	}
	return ok, why
}

// The answers of ReadOnly are kept for the statements asked again and
// again (a watcher's probes classify the same few texts several times a
// second, each lexed twice per read otherwise), up to a bound, since
// statements that carry values are each new. Only reads are kept: a
// statement that changes something may carry a password (CHANGE MASTER
// TO), which must not stay in memory for the process's life.
var (
	classified      sync.Map // query -> classification, read-only ones only
	classifiedCount atomic.Int64
)

const (
	maxClassified    = 512
	maxClassifiedLen = 512
)

type classification struct {
	ok  bool
	why string
}

func classify(query string) (bool, string) {
	ok, why := readOnly(query, true)
	if ok && strings.Contains(query, `\`) {
		// Under NO_BACKSLASH_ESCAPES a backslash ends no literal early; the
		// statement must be harmless read either way.
		ok, why = readOnly(query, false)
	}
	return ok, why
}

func readOnly(query string, backslash bool) (bool, string) {
	toks, err := lex(query, backslash)
	if err != nil {
		return false, err.Error()
	}
	for len(toks) > 0 && toks[0].sym("(") {
		toks = toks[1:]
	}
	for len(toks) > 0 && toks[len(toks)-1].sym(";") {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return false, "empty statement"
	}
	for _, t := range toks {
		if t.sym(";") {
			return false, "more than one statement"
		}
	}
	first := toks[0]
	if first.kind != tokWord {
		return false, fmt.Sprintf("statement starts with %q", first.text)
	}
	switch first.text {
	case "SELECT", "WITH", "VALUES", "TABLE", "DO":
		return pureExpression(toks[1:])
	case "SHOW", "HELP":
		return true, ""
	case "DESCRIBE", "DESC", "EXPLAIN":
		for _, t := range toks {
			if t.word("ANALYZE") {
				return false, "EXPLAIN ANALYZE executes the statement"
			}
		}
		return pureExpression(toks[1:])
	case "SET":
		return sessionSet(toks[1:])
	}
	return false, first.text + " is not a read"
}

// changing are words that, outside a function call, make a query write,
// lock or run code: INTO (OUTFILE, DUMPFILE, variables), FOR UPDATE, LOCK
// IN SHARE MODE, the DML a WITH clause may lead to, PROCEDURE ANALYSE.
var changing = map[string]bool{
	"INTO": true, "LOCK": true, "UPDATE": true, "DELETE": true, "INSERT": true, "REPLACE": true,
	"PROCEDURE": true, "CALL": true, "CREATE": true, "DROP": true, "ALTER": true, "TRUNCATE": true,
	"RENAME": true, "GRANT": true, "REVOKE": true, "LOAD": true, "HANDLER": true, "KILL": true,
	"FLUSH": true, "RESET": true, "PURGE": true, "INSTALL": true, "UNINSTALL": true,
}

// pureExpression checks the rest of a query: no changing word, no FOR
// SHARE, no NEXT VALUE FOR, and every function called is a built-in one
// without side effects. A stored function may write, so any other call
// (user functions, db.fn(), `fn`()) is refused.
func pureExpression(toks []token) (bool, string) {
	for i, t := range toks {
		call := i+1 < len(toks) && toks[i+1].sym("(")
		switch {
		case t.kind == tokQuoted && call:
			return false, "calls function " + t.text
		case t.kind != tokWord:
			continue
		case call && i > 0 && toks[i-1].sym("."):
			return false, "calls stored function " + t.text
		case call && (pureFunctions[t.text] || structural[t.text]):
			continue
		case call:
			return false, "calls function " + t.text + ", not known to be free of side effects"
		case changing[t.text]:
			return false, t.text + " clause"
		case t.text == "FOR" && i+1 < len(toks) && toks[i+1].word("SHARE"):
			return false, "FOR SHARE locks rows"
		case t.text == "NEXT" && i+1 < len(toks) && toks[i+1].word("VALUE"):
			return false, "NEXT VALUE FOR advances a sequence"
		}
	}
	return true, ""
}

// sessionSet accepts SET of user variables and of the session variables in
// harmlessSession, with pure values; SET TRANSACTION, NAMES and CHARACTER
// SET for the session. Any GLOBAL, PERSIST or @@global target, SET
// PASSWORD, ROLE, STATEMENT ... FOR is refused.
func sessionSet(toks []token) (bool, string) {
	if len(toks) == 0 {
		return false, "empty SET"
	}
	rest := toks
	if rest[0].word("SESSION") || rest[0].word("LOCAL") {
		rest = rest[1:]
	}
	if len(rest) > 0 && (rest[0].word("TRANSACTION") || rest[0].word("NAMES") || rest[0].word("CHARSET") ||
		(rest[0].word("CHARACTER") && len(rest) > 1 && rest[1].word("SET"))) {
		return pureExpression(rest[1:])
	}
	for _, a := range splitTopLevel(toks) {
		if ok, why := assignment(a); !ok {
			return false, why
		}
	}
	return true, ""
}

// splitTopLevel splits tokens at commas outside parentheses.
func splitTopLevel(toks []token) [][]token {
	var parts [][]token
	depth, start := 0, 0
	for i, t := range toks {
		switch {
		case t.sym("("):
			depth++
		case t.sym(")"):
			depth--
		case t.sym(",") && depth == 0:
			parts = append(parts, toks[start:i])
			start = i + 1
		}
	}
	return append(parts, toks[start:])
}

// assignment checks one "target = value" of a SET.
func assignment(a []token) (bool, string) {
	eq := -1
	for i, t := range a {
		if t.sym("=") || t.sym(":=") {
			eq = i
			break
		}
	}
	if eq < 1 {
		return false, "SET without an assignment"
	}
	name, ok := sessionTarget(a[:eq])
	if !ok {
		return false, "SET " + tokensText(a[:eq]) + " is not a session or user variable"
	}
	if name != "" && !harmlessSession[name] {
		return false, "SET of session variable " + strings.ToLower(name) + ", not known to be harmless"
	}
	return pureExpression(a[eq+1:])
}

// sessionTarget reads an assignment's target: "" for a user variable
// (@x, @'x'), the upper-cased name for a session variable (x, SESSION x,
// LOCAL x, @@x, @@SESSION.x, @@LOCAL.x); ok is false for anything else.
func sessionTarget(t []token) (string, bool) {
	switch {
	case len(t) == 2 && t[0].sym("@") && (t[1].kind == tokWord || t[1].kind == tokQuoted || t[1].kind == tokString):
		return "", true
	case len(t) == 1 && t[0].kind == tokWord && !scopeWords[t[0].text]:
		return t[0].text, true
	case len(t) == 2 && (t[0].word("SESSION") || t[0].word("LOCAL")) && t[1].kind == tokWord:
		return t[1].text, true
	case len(t) == 3 && t[0].sym("@") && t[1].sym("@") && t[2].kind == tokWord && !scopeWords[t[2].text]:
		return t[2].text, true
	case len(t) == 5 && t[0].sym("@") && t[1].sym("@") && (t[2].word("SESSION") || t[2].word("LOCAL")) &&
		t[3].sym(".") && t[4].kind == tokWord:
		return t[4].text, true
	}
	return "", false
}

var scopeWords = map[string]bool{"GLOBAL": true, "PERSIST": true, "PERSIST_ONLY": true, "SESSION": true, "LOCAL": true}

// tokensText is the tokens as SQL text again: "@@GLOBAL.READ_ONLY".
func tokensText(t []token) string {
	var b strings.Builder
	for i, x := range t {
		glued := x.sym("@") || x.sym(".") || (i > 0 && (t[i-1].sym("@") || t[i-1].sym(".")))
		if i > 0 && !glued {
			b.WriteByte(' ')
		}
		b.WriteString(x.text)
	}
	return b.String()
}

// harmlessSession are session variables whose setting changes how this
// session reads, waits or would write, and nothing of the server: a dry run
// skips every write, so what they would do to one does not matter.
var harmlessSession = set(
	"SQL_MODE", "LOCK_WAIT_TIMEOUT", "INNODB_LOCK_WAIT_TIMEOUT", "SQL_LOG_BIN", "MAX_STATEMENT_TIME",
	"MAX_EXECUTION_TIME", "WAIT_TIMEOUT", "INTERACTIVE_TIMEOUT", "NET_READ_TIMEOUT", "NET_WRITE_TIMEOUT",
	"TIME_ZONE", "AUTOCOMMIT", "TRANSACTION_ISOLATION", "TX_ISOLATION", "TRANSACTION_READ_ONLY",
	"TX_READ_ONLY", "GROUP_CONCAT_MAX_LEN", "SQL_SELECT_LIMIT", "SQL_SAFE_UPDATES", "SQL_BIG_SELECTS",
	"MAX_JOIN_SIZE", "CHARACTER_SET_CLIENT", "CHARACTER_SET_CONNECTION", "CHARACTER_SET_RESULTS",
	"COLLATION_CONNECTION", "SQL_NOTES", "SQL_WARNINGS", "SQL_QUOTE_SHOW_CREATE", "DIV_PRECISION_INCREMENT",
	"LC_TIME_NAMES", "LONG_QUERY_TIME", "FOREIGN_KEY_CHECKS", "UNIQUE_CHECKS", "BIG_TABLES",
)

// structural are keywords that may stand before a parenthesis without
// calling anything.
var structural = set(
	"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "XOR", "IN", "EXISTS", "ANY", "SOME", "ALL", "AS",
	"ON", "USING", "JOIN", "OVER", "BY", "HAVING", "WHEN", "THEN", "ELSE", "CASE", "IS", "LIKE",
	"BETWEEN", "UNION", "EXCEPT", "INTERSECT", "DISTINCT", "VALUES", "VALUE", "ROW", "WITH", "RECURSIVE",
	"LATERAL", "INTERVAL", "BINARY", "LIMIT", "OFFSET", "PARTITION", "WINDOW", "INDEX", "KEY", "REGEXP",
	"RLIKE", "DIV", "MOD", "ESCAPE", "COLLATE", "AGAINST", "DO", "DEFAULT", "NULL", "TRUE", "FALSE",
)

// pureFunctions are built-in functions that compute a value and change
// nothing. Locking (GET_LOCK, RELEASE_LOCK), sequences (NEXTVAL, SETVAL)
// and LOAD_FILE are left out on purpose.
var pureFunctions = set(
	// aggregates and control flow
	"COUNT", "SUM", "MIN", "MAX", "AVG", "GROUP_CONCAT", "BIT_AND", "BIT_OR", "BIT_XOR", "STD", "STDDEV",
	"IF", "IFNULL", "NULLIF", "COALESCE", "GREATEST", "LEAST", "ISNULL", "ROW_NUMBER", "RANK", "DENSE_RANK",
	// strings
	"CONCAT", "CONCAT_WS", "SUBSTRING", "SUBSTR", "SUBSTRING_INDEX", "LEFT", "RIGHT", "LENGTH",
	"CHAR_LENGTH", "CHARACTER_LENGTH", "LOWER", "UPPER", "LCASE", "UCASE", "TRIM", "LTRIM", "RTRIM",
	"REPLACE", "INSERT", "LOCATE", "INSTR", "POSITION", "LPAD", "RPAD", "REPEAT", "REVERSE", "FIND_IN_SET",
	"FIELD", "ELT", "HEX", "UNHEX", "CHAR", "ASCII", "ORD", "FORMAT", "QUOTE", "SPACE", "STRCMP",
	"REGEXP_REPLACE", "REGEXP_SUBSTR", "REGEXP_INSTR", "MD5", "SHA1", "SHA2", "CRC32", "TO_BASE64",
	"FROM_BASE64", "INET_ATON", "INET_NTOA", "UUID", "JSON_EXTRACT", "JSON_UNQUOTE", "JSON_OBJECT",
	"JSON_ARRAY", "JSON_VALUE", "JSON_LENGTH", "JSON_CONTAINS", "JSON_KEYS",
	// numbers, casts, dates
	"ABS", "CEIL", "CEILING", "FLOOR", "ROUND", "TRUNCATE", "MOD", "POW", "POWER", "SQRT", "RAND", "SIGN",
	"CAST", "CONVERT", "NOW", "CURRENT_TIMESTAMP", "CURDATE", "CURTIME", "SYSDATE", "UTC_TIMESTAMP",
	"UTC_DATE", "UNIX_TIMESTAMP", "FROM_UNIXTIME", "DATE", "TIME", "TIMESTAMP", "DATE_FORMAT",
	"DATE_ADD", "DATE_SUB", "DATEDIFF", "TIMEDIFF", "TIMESTAMPDIFF", "TIMESTAMPADD", "EXTRACT",
	"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "MICROSECOND", "SEC_TO_TIME", "TIME_TO_SEC",
	"DECIMAL", "SIGNED", "UNSIGNED", "VARCHAR", "DATETIME",
	// the session and the server
	"CONNECTION_ID", "VERSION", "DATABASE", "SCHEMA", "USER", "CURRENT_USER", "SESSION_USER",
	"SYSTEM_USER", "LAST_INSERT_ID", "ROW_COUNT", "FOUND_ROWS", "IS_USED_LOCK", "IS_FREE_LOCK", "SLEEP",
	// replication reads and waits
	"MASTER_GTID_WAIT", "MASTER_POS_WAIT", "SOURCE_POS_WAIT", "WAIT_FOR_EXECUTED_GTID_SET",
	"WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS", "GTID_SUBSET", "GTID_SUBTRACT", "BINLOG_GTID_POS",
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
