package bindings

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// replHelp is what \help prints.
const replHelp = `Type Lua; an expression's value is printed (rows of db:sql as a table).
  rep                the module (require "replicant"); rep.<TAB> completes
  db = rep.server("db1")   then db:<TAB> lists its methods
  db:sql("SELECT ...")     rows as a table, vertical when too wide or ended with \G
  \help, \h, \?      this text
  \quit, \q, exit, quit, Ctrl-D   leave (a failed chunk's steps are undone)
  Ctrl-C             drop the line, or stop the running chunk
A top-level "local x = ..." lasts for that line only: write "x = ..." to keep x.
replicant-lua doc NAME shows any API function (doc server:sql).
`

// replCommand handles the REPL's own commands, typed alone on a fresh
// prompt; it reports whether line was one, and whether to leave.
func (s *State) replCommand(line string) (handled, quit bool) {
	switch strings.TrimSpace(line) {
	case `\help`, `\h`, `\?`, "help":
		fmt.Fprint(s.cfg.Stdout, replHelp)
		return true, false
	case `\quit`, `\q`, "exit", "quit", `\exit`:
		return true, true
	}
	return false, false
}

var topLevelLocal = regexp.MustCompile(`^\s*local\s+([A-Za-z_][A-Za-z0-9_]*(\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*=`)

// localNote is the hint printed after a chunk that declared a top-level
// local: each chunk is a function of its own, so the local is gone by the
// next prompt, and the user's next line would read a nil global.
func localNote(chunk string) string {
	m := topLevelLocal.FindStringSubmatch(chunk)
	if m == nil || strings.Contains(chunk, "\n") {
		return ""
	}
	return fmt.Sprintf("note: local %s lasts for this line only; write %s = ... to keep it", m[1], m[1])
}

// Complete returns the completions of the word before the cursor (the
// whole line here): globals, fields of a table (rep.se → rep.server,
// rep.servers) and methods of a value through its metatable (db:rep →
// db:replica_status). It only reads the VM, and is called at a prompt,
// when no chunk runs.
func (s *State) Complete(line string) []string {
	start := len(line)
	for start > 0 && isWordByte(line[start-1]) {
		start--
	}
	head, word := line[:start], line[start:]
	path := strings.FieldsFunc(word, func(r rune) bool { return r == '.' || r == ':' })
	if strings.HasSuffix(word, ".") || strings.HasSuffix(word, ":") || word == "" {
		path = append(path, "")
	}
	if len(path) == 0 {
		return nil
	}
	prefix := path[len(path)-1]
	scope := lua.LValue(s.L.Get(lua.GlobalsIndex))
	for _, name := range path[:len(path)-1] {
		scope = s.fieldOf(scope, name)
		if scope == lua.LNil {
			return nil
		}
	}
	method := strings.HasSuffix(strings.TrimSuffix(word, prefix), ":")
	var out []string
	for _, k := range s.keysOf(scope) {
		if !strings.HasPrefix(k, prefix) || strings.HasPrefix(k, "__") {
			continue
		}
		v := s.fieldOf(scope, k)
		suffix := ""
		if method && v.Type() != lua.LTFunction {
			continue
		}
		if v.Type() == lua.LTFunction {
			suffix = "("
		}
		out = append(out, head+word[:len(word)-len(prefix)]+k+suffix)
	}
	sort.Strings(out)
	return out
}

func isWordByte(b byte) bool {
	return b == '_' || b == '.' || b == ':' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// fieldOf reads v[name] without running Lua code other than a table
// __index chain (the read-only module's proxy).
func (s *State) fieldOf(v lua.LValue, name string) lua.LValue {
	for range 8 {
		switch t := v.(type) {
		case *lua.LTable:
			if f := t.RawGetString(name); f != lua.LNil {
				return f
			}
			mt, ok := t.Metatable.(*lua.LTable)
			if !ok {
				return lua.LNil
			}
			v = mt.RawGetString("__index")
		case *lua.LUserData:
			mt, ok := t.Metatable.(*lua.LTable)
			if !ok {
				return lua.LNil
			}
			v = mt.RawGetString("__index")
		default:
			return lua.LNil
		}
	}
	return lua.LNil
}

// keysOf lists the string keys v offers: its own and those of the
// tables its __index chain leads to.
func (s *State) keysOf(v lua.LValue) []string {
	seen := map[string]bool{}
	var out []string
	for range 8 {
		var mtv lua.LValue
		switch t := v.(type) {
		case *lua.LTable:
			t.ForEach(func(k, _ lua.LValue) {
				if ks, ok := k.(lua.LString); ok && !seen[string(ks)] {
					seen[string(ks)] = true
					out = append(out, string(ks))
				}
			})
			mtv = t.Metatable
		case *lua.LUserData:
			mtv = t.Metatable
		}
		mt, ok := mtv.(*lua.LTable)
		if !ok {
			break
		}
		v = mt.RawGetString("__index")
	}
	return out
}

// resultTable renders what db:sql returns — rows (a list of tables) and
// columns (a list of names) — as the mysql client does: an aligned table,
// or one block per row (\G) when the table would be wider than width. ok
// is false for any other values, which print as Lua.
func (s *State) resultTable(vals []lua.LValue, width int) (string, bool) {
	if len(vals) != 2 {
		return "", false
	}
	rows, ok1 := vals[0].(*lua.LTable)
	cols, ok2 := vals[1].(*lua.LTable)
	if !ok1 || !ok2 || cols.Len() == 0 || rows.RawGetString("n") != lua.LNil {
		return "", false
	}
	var names []string
	for i := 1; i <= cols.Len(); i++ {
		c, ok := cols.RawGetInt(i).(lua.LString)
		if !ok {
			return "", false
		}
		names = append(names, string(c))
	}
	cells := [][]string{}
	for i := 1; i <= rows.Len(); i++ {
		row, ok := rows.RawGetInt(i).(*lua.LTable)
		if !ok {
			return "", false
		}
		line := make([]string, len(names))
		for j, n := range names {
			line[j] = s.cell(row.RawGetString(n))
		}
		cells = append(cells, line)
	}
	widths := make([]int, len(names))
	for j, n := range names {
		widths[j] = utf8.RuneCountInString(n)
		for _, line := range cells {
			widths[j] = max(widths[j], utf8.RuneCountInString(line[j]))
		}
	}
	total := 1
	for _, w := range widths {
		total += w + 3
	}
	var b strings.Builder
	if total > width && len(cells) > 0 {
		nameW := 0
		for _, n := range names {
			nameW = max(nameW, utf8.RuneCountInString(n))
		}
		for i, line := range cells {
			fmt.Fprintf(&b, "*************************** %d. row ***************************\n", i+1)
			for j, n := range names {
				fmt.Fprintf(&b, "%*s: %s\n", nameW, n, line[j])
			}
		}
	} else {
		sep := "+"
		for _, w := range widths {
			sep += strings.Repeat("-", w+2) + "+"
		}
		row := func(vals []string) {
			b.WriteString("|")
			for j, v := range vals {
				b.WriteString(" " + v + strings.Repeat(" ", widths[j]-utf8.RuneCountInString(v)) + " |")
			}
			b.WriteString("\n")
		}
		b.WriteString(sep + "\n")
		row(names)
		b.WriteString(sep + "\n")
		for _, line := range cells {
			row(line)
		}
		if len(cells) > 0 {
			b.WriteString(sep + "\n")
		}
	}
	plural := "s"
	if len(cells) == 1 {
		plural = ""
	}
	fmt.Fprintf(&b, "%d row%s in set\n", len(cells), plural)
	return b.String(), true
}

// cell is a value as the mysql client shows it: NULL for SQL NULL,
// strings bare.
func (s *State) cell(v lua.LValue) string {
	switch {
	case v == s.null || v == lua.LNil:
		return "NULL"
	case v.Type() == lua.LTString:
		return strings.ReplaceAll(v.String(), "\n", `\n`)
	}
	return s.Pretty(v)
}

// verticalWidth as REPLOptions.Width makes every result set vertical
// (\G): no table is that narrow.
const verticalWidth = 1
