package server

import (
	"errors"
	"strings"
)

// The dry-run classifier (classify.go) reads a statement as a list of
// tokens. The lexer only needs to know where words, literals and comments
// begin and end; it does not parse SQL.

type tokenKind int

const (
	tokWord   tokenKind = iota // keyword or bare identifier, upper-cased
	tokQuoted                  // `identifier` or "identifier or string"
	tokString                  // 'string'
	tokNumber
	tokPlaceholder // ?
	tokSymbol      // ( ) , ; = := @ . and the rest
)

type token struct {
	kind tokenKind
	text string
}

func (t token) is(kind tokenKind, text string) bool { return t.kind == kind && t.text == text }

func (t token) word(text string) bool { return t.is(tokWord, text) }

func (t token) sym(text string) bool { return t.is(tokSymbol, text) }

// errExecutableComment: the server runs what a /*! ... */ or /*M! ... */
// comment holds ("MySQL Server parses and executes the code within the
// comment as it would any other SQL statement"), so such a comment may hide
// anything.
var errExecutableComment = errors.New("executable comment /*! ... */")

// lex splits a statement into tokens, dropping comments. backslash says
// whether a backslash escapes the next character in a string literal, as it
// does unless the session has NO_BACKSLASH_ESCAPES in its sql_mode.
func lex(q string, backslash bool) ([]token, error) {
	var out []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#' || (c == '-' && strings.HasPrefix(q[i:], "--") && (i+2 == len(q) || isSpace(q[i+2]))):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				return out, nil
			}
			i += end + 1
		case strings.HasPrefix(q[i:], "/*"):
			if strings.HasPrefix(q[i:], "/*!") || strings.HasPrefix(q[i:], "/*M!") {
				return nil, errExecutableComment
			}
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return nil, errors.New("unterminated comment")
			}
			i += 2 + end + 2
		case c == '\'' || c == '"' || c == '`':
			end, err := quotedEnd(q, i, backslash && c != '`')
			if err != nil {
				return nil, err
			}
			kind := tokQuoted
			if c == '\'' {
				kind = tokString
			}
			out = append(out, token{kind, q[i:end]})
			i = end
		case c >= '0' && c <= '9':
			j := i
			for j < len(q) && (isWordByte(q[j]) || q[j] == '.') {
				j++
			}
			out = append(out, token{tokNumber, q[i:j]})
			i = j
		case isWordByte(c):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			out = append(out, token{tokWord, strings.ToUpper(q[i:j])})
			i = j
		case c == '?':
			out = append(out, token{tokPlaceholder, "?"})
			i++
		case c == ':' && strings.HasPrefix(q[i:], ":="):
			out = append(out, token{tokSymbol, ":="})
			i += 2
		default:
			out = append(out, token{tokSymbol, string(c)})
			i++
		}
	}
	return out, nil
}

// quotedEnd returns the index just past the literal that starts at q[i]. A
// doubled quote stands for itself; with backslash, so does \ and the
// character after it.
func quotedEnd(q string, i int, backslash bool) (int, error) {
	quote := q[i]
	for j := i + 1; j < len(q); j++ {
		switch {
		case backslash && q[j] == '\\':
			j++
		case q[j] == quote && j+1 < len(q) && q[j+1] == quote:
			j++
		case q[j] == quote:
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated quoted literal")
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isWordByte: letters, digits, _ and $ make identifiers, and so does any
// byte of a multi-byte UTF-8 character.
func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
