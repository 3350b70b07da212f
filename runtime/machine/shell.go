package machine

import "strings"

// Quote returns s as one word of a POSIX shell (sh, dash, bash, zsh),
// whatever it holds: spaces, quotes, $, backticks, newlines, globs. Words
// made only of harmless characters stay as they are, so that errors and
// logs read naturally. A NUL byte cannot be passed to a command at all.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isPlainWord(s) {
		return s
	}
	// Inside single quotes every character is literal; a single quote is
	// written by closing the quotes, an escaped quote, and reopening.
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteCommand joins argv into a command line for a POSIX shell, each
// argument one word.
func QuoteCommand(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = Quote(a)
	}
	return strings.Join(words, " ")
}

// isPlainWord reports whether s means itself to a shell unquoted. '=' is
// not plain first: zsh expands "=cmd" to the path of cmd.
func isPlainWord(s string) bool {
	if s[0] == '=' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_-./:=@%+,", c) >= 0:
		default:
			return false
		}
	}
	return true
}
