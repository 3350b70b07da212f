package mycnf

import (
	"errors"
	"fmt"
	"strings"
)

// Set makes the server read value for name in section. The last matching
// option (as in Get) is rewritten in place, keeping its spelling, its
// quoting style and any trailing comment; without one, a line is added after
// the last option of the section's last occurrence, or a new section is
// added at the end of the file. A value that needs it is double-quoted and
// escaped. The edit is checked by parsing the result: on error the file is
// unchanged.
func (f *File) Set(section, name, value string) error {
	if strings.IndexByte(value, 0) >= 0 {
		return fmt.Errorf("%s: set [%s] %s: value contains a NUL byte, which an option file cannot hold", f.name, section, name)
	}
	return f.set(section, name, value, true)
}

// SetFlag is Set for an option without a value ("skip-name-resolve"). An
// existing "name = value" loses its value.
func (f *File) SetFlag(section, name string) error {
	return f.set(section, name, "", false)
}

func (f *File) set(section, name, value string, hasValue bool) error {
	raws, err := f.edited(section, name, value, hasValue)
	if err == nil && raws == nil {
		return nil // already so
	}
	var nf *File
	if err == nil {
		nf, err = parse(strings.Join(raws, ""), f.name)
	}
	if err == nil {
		if got, ok := nf.Get(section, name); !ok || got.HasValue != hasValue || got.Value != value {
			err = errors.New("the server would not read the value back unchanged")
		}
	}
	if err != nil {
		return fmt.Errorf("%s: set [%s] %s: %w", f.name, section, name, err)
	}
	f.lines = nf.lines
	return nil
}

// edited returns the file's lines after the edit, or nil if nothing changes.
func (f *File) edited(section, name, value string, hasValue bool) ([]string, error) {
	raws := make([]string, len(f.lines))
	for i := range f.lines {
		raws[i] = f.lines[i].raw
	}
	st := f.style(section)
	if i := f.last(section, optionKey(section, name)); i >= 0 {
		l := &f.lines[i]
		if l.hasValue() == hasValue && l.value == value {
			return nil, nil
		}
		raws[i] = l.rewrite(value, hasValue, st.sep)
		return raws, nil
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	opt := st.indent + name
	if hasValue {
		opt += st.sep + encodeValue(value, 0)
	}
	opt += st.eol
	if at := f.anchor(section); at >= 0 {
		raws[at] = terminate(raws[at], st.eol)
		return append(raws[:at+1], append([]string{opt}, raws[at+1:]...)...), nil
	}
	if err := checkSection(section); err != nil {
		return nil, err
	}
	if n := len(raws); n > 0 {
		raws[n-1] = terminate(raws[n-1], st.eol)
		if f.lines[n-1].kind != blankLine {
			raws = append(raws, st.eol)
		}
	}
	return append(raws, "["+section+"]"+st.eol, opt), nil
}

// rewrite returns l.raw with a new value, or none, keeping everything
// around it: indentation, name, the blanks around '=', quoting and comment.
func (l *line) rewrite(value string, hasValue bool, sep string) string {
	raw := l.raw
	if !hasValue {
		rest := raw[l.valEnd:]
		if trimmed := strings.TrimLeft(rest, " \t"); !strings.HasPrefix(trimmed, "#") {
			rest = trimmed // no blanks left dangling before the newline
		}
		return raw[:l.nameEnd] + rest
	}
	var quote byte
	if old := raw[l.valStart:l.valEnd]; isQuoted(old) {
		quote = old[0] // keep the operator's quotes
	}
	enc := encodeValue(value, quote)
	if !l.hasValue() {
		return raw[:l.nameEnd] + sep + enc + raw[l.nameEnd:]
	}
	start, end := l.valStart, l.valEnd
	if start == end { // empty: write after the blanks that follow '='
		for end < len(raw) && (raw[end] == ' ' || raw[end] == '\t') {
			end++
		}
		start = end
		if end < len(raw) && raw[end] == '#' {
			enc += " " // not "a =x# c"
		}
	}
	return raw[:start] + enc + raw[end:]
}

// anchor is the line after which a new option of section goes: the last
// option of its last occurrence, or its header. A directive or comment after
// it stays after it, so the new option does not move past an !includedir
// (options read later win) or into the next section's leading comment.
func (f *File) anchor(section string) int {
	at := -1
	for i := range f.lines {
		switch l := &f.lines[i]; {
		case l.kind == sectionLine && sameSection(l.group, section):
			at = i
		case l.kind == optionLine && at >= 0 && sameSection(l.group, section):
			at = i
		}
	}
	return at
}

type style struct{ indent, sep, eol string }

// style copies the layout of the last option with a value in section (else
// in the file): its indentation and whether '=' has blanks around it. The
// padding of aligned files is not copied, since the new name's length
// differs. Default "name = value".
func (f *File) style(section string) style {
	st := style{sep: " = ", eol: "\n"}
	for i := range f.lines {
		if raw := f.lines[i].raw; strings.HasSuffix(raw, "\n") {
			if strings.HasSuffix(raw, "\r\n") {
				st.eol = "\r\n"
			}
			break
		}
	}
	ref := -1
	for i := range f.lines {
		if l := &f.lines[i]; l.kind == optionLine && l.hasValue() {
			if ref < 0 || sameSection(l.group, section) || !sameSection(f.lines[ref].group, section) {
				ref = i
			}
		}
	}
	if ref < 0 {
		return st
	}
	l := &f.lines[ref]
	st.indent, st.sep = l.raw[:l.nameStart], "="
	if l.nameEnd < l.eq {
		st.sep = " " + st.sep
	}
	if after := l.eq + 1; after < len(l.raw) && (l.raw[after] == ' ' || l.raw[after] == '\t') {
		st.sep += " "
	}
	return st
}

func terminate(raw, eol string) string {
	if strings.HasSuffix(raw, "\n") {
		return raw
	}
	return raw + eol
}

// checkName accepts a name that reads back as itself on a line of its own.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty option name")
	}
	if strings.ContainsAny(name[:1], "#;[!") {
		return fmt.Errorf("option name %q starts with %q", name, name[0])
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f || c == 0xA0 || strings.IndexByte("=#'\"", c) >= 0 {
			return fmt.Errorf("option name %q contains %q", name, c)
		}
	}
	return nil
}

// checkSection accepts a section name that a new header reads back as.
func checkSection(section string) error {
	if section == "" {
		return errors.New("empty section name")
	}
	if isSpace(section[0]) || isSpace(section[len(section)-1]) {
		return fmt.Errorf("section name %q starts or ends with a blank", section)
	}
	if i := strings.IndexAny(section, "]\n\x00"); i >= 0 {
		return fmt.Errorf("section name %q contains %q", section, section[i])
	}
	return nil
}
