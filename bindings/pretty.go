package bindings

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

const (
	// prettyMaxDepth bounds nesting so that a deep structure (a parsed
	// topology, a module) prints as a readable outline; deeper tables
	// show as {...}.
	prettyMaxDepth = 8
	// prettyWidth is how long a table may be on one line before it is
	// broken into one entry per line.
	prettyWidth = 78
)

// Pretty renders v for a person: strings quoted so that "1" and 1 differ,
// tables expanded with sorted keys, and values with a __tostring
// metamethod (servers, error objects, rep.null) shown through it.
func (s *State) Pretty(v lua.LValue) string {
	p := printer{L: s.L, visiting: map[*lua.LTable]bool{}}
	return p.value(v, 0, "")
}

type printer struct {
	L *lua.LState
	// visiting holds the tables on the path from the root, so that a
	// table reached again through itself prints as <cycle>; a table
	// shared by two branches is not a cycle and prints twice.
	visiting map[*lua.LTable]bool
}

func (p *printer) value(v lua.LValue, depth int, indent string) string {
	if str, ok := p.tostring(v); ok {
		return str
	}
	switch v := v.(type) {
	case lua.LString:
		return luaQuote(string(v))
	case *lua.LTable:
		return p.table(v, depth, indent)
	}
	return v.String()
}

// tostring calls v's __tostring metamethod, protected: a broken
// metamethod must not take the REPL down with it.
func (p *printer) tostring(v lua.LValue) (string, bool) {
	fn, ok := p.L.GetMetaField(v, "__tostring").(*lua.LFunction)
	if !ok {
		return "", false
	}
	if err := p.L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, v); err != nil {
		return fmt.Sprintf("<%s: __tostring failed: %v>", v.Type(), err), true
	}
	res := p.L.Get(-1)
	p.L.Pop(1)
	return lua.LVAsString(res), true
}

func (p *printer) table(t *lua.LTable, depth int, indent string) string {
	t = unproxy(t)
	if p.visiting[t] {
		return "<cycle>"
	}
	if depth >= prettyMaxDepth {
		return "{...}"
	}
	p.visiting[t] = true
	defer delete(p.visiting, t)

	inner := indent + "  "
	n := arrayLen(t)
	items := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		items = append(items, p.value(t.RawGetInt(i), depth+1, inner))
	}
	for _, k := range sortedKeys(t, n) {
		items = append(items, p.key(k)+" = "+p.value(t.RawGet(k), depth+1, inner))
	}
	return layout(items, indent)
}

// layout puts a table's entries on one line when they fit, otherwise one
// per line with a trailing comma, as a person would write them.
func layout(items []string, indent string) string {
	if len(items) == 0 {
		return "{}"
	}
	line := "{ " + strings.Join(items, ", ") + " }"
	if !strings.Contains(line, "\n") && len(indent)+len(line) <= prettyWidth {
		return line
	}
	var b strings.Builder
	b.WriteString("{\n")
	for _, it := range items {
		b.WriteString(indent + "  " + it + ",\n")
	}
	b.WriteString(indent + "}")
	return b.String()
}

// unproxy shows what an empty proxy table (the read-only replicant
// module, see readOnly) exposes: printing `rep` is how one discovers the
// API.
func unproxy(t *lua.LTable) *lua.LTable {
	// The raw metatable: GetMetatable would return the __metatable
	// field that readOnly sets to hide it.
	mt, ok := t.Metatable.(*lua.LTable)
	if !ok {
		return t
	}
	idx, ok := mt.RawGetString("__index").(*lua.LTable)
	if !ok {
		return t
	}
	if k, _ := t.Next(lua.LNil); k != lua.LNil {
		return t
	}
	return idx
}

// arrayLen counts the keys 1, 2, 3... up to the first nil, which print
// without their index. The # operator is not used: with holes it may
// stop at any border.
func arrayLen(t *lua.LTable) int {
	n := 0
	for t.RawGetInt(n+1) != lua.LNil {
		n++
	}
	return n
}

// sortedKeys returns the keys not in the array part: numbers in order,
// then strings in order, then the rest (booleans, tables...) by their
// text, so that the same table always prints the same way.
func sortedKeys(t *lua.LTable, n int) []lua.LValue {
	var keys []lua.LValue
	t.ForEach(func(k, _ lua.LValue) {
		if num, ok := k.(lua.LNumber); ok && float64(num) == float64(int(num)) && int(num) >= 1 && int(num) <= n {
			return
		}
		keys = append(keys, k)
	})
	rank := func(v lua.LValue) int {
		switch v.(type) {
		case lua.LNumber:
			return 0
		case lua.LString:
			return 1
		}
		return 2
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		if na, ok := a.(lua.LNumber); ok {
			return na < b.(lua.LNumber)
		}
		return a.String() < b.String()
	})
	return keys
}

// key renders a table key the way it would be written in a constructor:
// name for identifiers, ["x-y"] or [2.5] otherwise.
func (p *printer) key(k lua.LValue) string {
	if str, ok := k.(lua.LString); ok && isIdentifier(string(str)) {
		return string(str)
	}
	switch k := k.(type) {
	case lua.LString:
		return "[" + luaQuote(string(k)) + "]"
	case lua.LNumber, lua.LBool:
		return "[" + k.String() + "]"
	}
	// A table or function key is shown by identity, not expanded.
	return "[" + k.String() + "]"
}

var luaKeywords = map[string]bool{
	"and": true, "break": true, "do": true, "else": true, "elseif": true,
	"end": true, "false": true, "for": true, "function": true, "if": true,
	"in": true, "local": true, "nil": true, "not": true, "or": true,
	"repeat": true, "return": true, "then": true, "true": true,
	"until": true, "while": true,
}

func isIdentifier(s string) bool {
	if s == "" || luaKeywords[s] {
		return false
	}
	for i, c := range s {
		if c != '_' && !(c < utf8.RuneSelf && unicode.IsLetter(c)) && !(i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// luaQuote quotes s so that Lua 5.1 reads it back as the same bytes:
// control bytes and invalid UTF-8 become \ddd (three digits, so a digit
// that follows cannot join the escape), printable UTF-8 stays readable.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if esc, ok := shortEscapes[c]; ok {
			b.WriteString(esc)
			i++
			continue
		}
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if c >= utf8.RuneSelf && r != utf8.RuneError && unicode.IsPrint(r) {
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		for _, raw := range []byte(s[i : i+size]) {
			fmt.Fprintf(&b, "\\%03d", raw)
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

var shortEscapes = map[byte]string{
	'"': `\"`, '\\': `\\`, '\n': `\n`, '\r': `\r`, '\t': `\t`,
	'\a': `\a`, '\b': `\b`, '\f': `\f`, '\v': `\v`,
}
