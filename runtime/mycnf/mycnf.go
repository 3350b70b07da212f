// Package mycnf reads, edits and writes MySQL/MariaDB option files (my.cnf)
// without losing anything the operator wrote: comments, blank lines, order,
// spelling, quoting, line endings and a missing final newline all survive,
// and a file that is parsed and written back untouched is byte-identical.
//
// A file is read the way the server's own reader reads it
// (search_default_file_with_ext in mysys/my_default.c, identical in MySQL
// and MariaDB; lex.go cites the details), and server_test.go checks that
// against my_print_defaults:
//
//   - Blank lines and lines whose first non-blank byte is '#' or ';' are
//     comments. After a value, '#' outside quotes starts a comment even
//     without a blank before it; ';' does not.
//   - "[group]" runs to the first ']'; trailing blanks are dropped, leading
//     ones kept, the rest of the line ignored. Groups match
//     case-insensitively.
//   - "!include FILE" and "!includedir DIR" may appear anywhere; other '!'
//     lines are ignored. A File reports includes; Resolve follows them.
//   - Any other line is "name" or "name = value"; blanks around both are
//     dropped, then one pair of matching quotes, then the escapes \b \t \n
//     \r \s \\ \" \'. Names match with '-' equal to '_', in any case,
//     with a "loose-" prefix ignored and, in server groups, unique prefixes
//     completed (lex.go, optionKey).
//
// Errors are what the server rejects (an option before any group, a header
// without ']', an include without a path) plus what it would silently
// misread: a NUL byte, a line over 4094 bytes, an option without a name.
package mycnf

// File is a parsed option file. The zero value is not usable; use Parse or
// Load. A File is not safe for concurrent use.
type File struct {
	name  string
	lines []line
}

// Option is one option line as the server reads it.
type Option struct {
	Section  string // as written in the [section] header
	Name     string // as written, e.g. "loose-log_bin"
	Value    string // decoded: quotes removed, escapes applied
	HasValue bool   // false for "log-slave-updates" without '='
	Line     int    // 1-based
	// Abbreviation is set when Name is a unique prefix that the server
	// completes ("server-i" for server_id): it works, with a Note that it
	// may break in a later version.
	Abbreviation bool
}

// Include is an !include (a file) or !includedir (a directory) directive.
type Include struct {
	Path string // what the server opens (see directiveArg for a quirk)
	Dir  bool   // !includedir
	Line int
}

// Name returns the name given to Parse, or the path given to Load.
func (f *File) Name() string { return f.name }

// Sections returns the section names in order of first appearance, each
// once; a section may appear several times in a file.
func (f *File) Sections() []string {
	var out []string
next:
	for i := range f.lines {
		l := &f.lines[i]
		if l.kind != sectionLine {
			continue
		}
		for _, s := range out {
			if sameSection(s, l.group) {
				continue next
			}
		}
		out = append(out, l.group)
	}
	return out
}

// Options returns the options of every occurrence of section, in file order,
// repeats included.
func (f *File) Options(section string) []Option {
	var out []Option
	for i := range f.lines {
		if l := &f.lines[i]; l.kind == optionLine && sameSection(l.group, section) {
			out = append(out, f.option(i))
		}
	}
	return out
}

// Get returns the option that takes effect: the last one in section whose
// name matches. Names match as mariadbd reads them (see optionKey): '-' and
// '_' equal, any case, a leading "loose-" ignored, and in server groups a
// unique prefix of a server option ("server-i") standing for it, reported
// as Abbreviation; sections match case-insensitively. Prefixes that change meaning (skip-, disable-,
// enable-, maximum-) are part of the name: Get("mysqld", "log-bin") does not
// see "skip-log-bin", whose effect is the caller's to interpret.
func (f *File) Get(section, name string) (Option, bool) {
	i := f.last(section, optionKey(section, name))
	if i < 0 {
		return Option{}, false
	}
	return f.option(i), true
}

// Includes returns the !include and !includedir directives in file order.
func (f *File) Includes() []Include {
	var out []Include
	for i := range f.lines {
		if l := &f.lines[i]; l.kind == directiveLine && l.directive != "" {
			out = append(out, Include{Path: l.arg, Dir: l.directive == "includedir", Line: i + 1})
		}
	}
	return out
}

// Remove deletes every option in section that matches name (as in Get) and
// reports whether there was one. Other lines keep their bytes.
func (f *File) Remove(section, name string) bool {
	key := optionKey(section, name)
	kept := f.lines[:0:0]
	for i := range f.lines {
		l := &f.lines[i]
		if l.kind == optionLine && l.key == key && sameSection(l.group, section) {
			continue
		}
		kept = append(kept, *l)
	}
	removed := len(kept) != len(f.lines)
	f.lines = kept
	return removed
}

func (f *File) option(i int) Option {
	l := &f.lines[i]
	return Option{Section: l.group, Name: l.name, Value: l.value, HasValue: l.hasValue(), Line: i + 1,
		Abbreviation: l.key != optionKey("", l.name)}
}

// last returns the index of the last option line in section with key, or -1.
func (f *File) last(section, key string) int {
	for i := len(f.lines) - 1; i >= 0; i-- {
		if l := &f.lines[i]; l.kind == optionLine && l.key == key && sameSection(l.group, section) {
			return i
		}
	}
	return -1
}
