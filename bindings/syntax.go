package bindings

import (
	"errors"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// syntaxMessage words a chunk that does not compile the way lua, luac and
// editors do, "file:line:column: message near 'token'", so that an editor
// or a terminal can jump to it. The column is left out: gopher-lua gives
// the column where the offending token ends, which no editor expects. gopher-lua's own wording ("file
// line:5(column:3) near 'end':   syntax error") is parsed by nobody.
// lines is the number of lines of the source, for a chunk that ended too
// early: the mistake is then reported at its last line.
func syntaxMessage(err error, lines int) string {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Cause != nil {
		err = apiErr.Cause // ApiError has no Unwrap
	}
	var perr *parse.Error
	if errors.As(err, &perr) {
		if perr.Pos.Line == parse.EOF {
			return fmt.Sprintf("%s:%d: %s at the end of the file (something is not closed: end, ), }, a string?)",
				perr.Pos.Source, max(lines, 1), perr.Message)
		}
		return fmt.Sprintf("%s:%d: %s near '%s'", perr.Pos.Source, perr.Pos.Line, perr.Message, perr.Token)
	}
	var cerr *lua.CompileError
	if errors.As(err, &cerr) {
		// "compile error near line(N) SOURCE: MESSAGE"
		msg := cerr.Error()
		if _, rest, ok := strings.Cut(msg, ") "); ok {
			if src, text, ok := strings.Cut(rest, ": "); ok {
				return fmt.Sprintf("%s:%d: %s", src, cerr.Line, text)
			}
		}
		return msg
	}
	return strings.TrimSpace(err.Error())
}

// sourceLines counts the lines of src as an editor numbers them.
func sourceLines(src string) int {
	return strings.Count(strings.TrimRight(src, "\n"), "\n") + 1
}
