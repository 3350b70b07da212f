package mycnf

import (
	_ "embed"
	"slices"
	"strings"
)

// serverOptions are the option names of mariadbd 10.11 (mariadbd
// --no-defaults --verbose --help, '-' written '_', lower case, sorted);
// TestServerOptionNames checks the list against the installed server. The
// server reads a unique prefix of one of them as that option, so names are
// matched through this list. MySQL's my_getopt takes unique prefixes too
// (deprecated in 8.0); its list differs in a few names that we then do not
// complete.
//
//go:embed mariadbd-10.11-options.txt
var serverOptionsText string

var serverOptions = strings.Fields(serverOptionsText)

// fullName returns the server option that key (an optionKey before
// completion) names: itself when it is an option or no option starts with
// it, the one option it is a prefix of, or itself with the candidates when
// there are several (the server refuses such a file: "ambiguous option
// '--log-b=x' (log-basename, log_bin_trust_function_creators)").
func fullName(key string) (string, []string) {
	i, exact := slices.BinarySearch(serverOptions, key)
	if exact || key == "" {
		return key, nil
	}
	var candidates []string
	for ; i < len(serverOptions) && strings.HasPrefix(serverOptions[i], key); i++ {
		candidates = append(candidates, serverOptions[i])
	}
	switch len(candidates) {
	case 0:
		return key, nil
	case 1:
		return candidates[0], nil
	}
	return key, candidates
}

// ServerGroup reports whether mariadbd (or mysqld) reads group, whatever
// its version: mysqld, server, mariadb, mariadbd, client-server, galera,
// their versioned forms ("mysqld-10.11"), and the mysqldN groups of
// mysqld_multi. Comparison is case-insensitive, as for all groups.
func ServerGroup(group string) bool {
	g := strings.ToLower(group)
	if i := strings.IndexByte(g, '-'); i > 0 && g[:i] != "client" && isVersion(g[i+1:]) {
		g = g[:i]
	}
	switch g {
	case "mysqld", "server", "mariadb", "mariadbd", "client-server", "galera":
		return true
	}
	return strings.HasPrefix(g, "mysqld") && strings.Trim(g[len("mysqld"):], "0123456789") == ""
}

func isVersion(s string) bool {
	major, minor, ok := strings.Cut(s, ".")
	return ok && major != "" && minor != "" && strings.Trim(major+minor, "0123456789") == ""
}
