package mycnf

// OptionValue is what one option is set to in a file, as the server reads it:
// the last line that names it in its section.
type OptionValue struct {
	Present  bool   // the file sets it
	HasValue bool   // false for a flag ("log-slave-updates" without '=')
	Value    string // decoded, when HasValue
}

// Change is an option whose setting differs between two versions of a
// file: an edit, an addition or a removal. Section and Name are as the
// file writes them (the newer version's when both have it).
type Change struct {
	Section, Name string
	Before, After OptionValue
}

// Diff lists the options whose setting differs from before to after, in
// the order after names them, then those only before has. Names match as
// in Get ("log_bin" and "loose-log-bin" are one option), and so do
// sections; a value rewritten with other quoting or spacing is no change.
// nil before is an empty file.
func Diff(before, after *File) []Change {
	if before == nil {
		before = &File{}
	}
	var out []Change
	seen := map[[2]string]bool{}
	visit := func(f *File) {
		for i := range f.lines {
			l := &f.lines[i]
			if l.kind != optionLine {
				continue
			}
			id := [2]string{string(upperLatin1String(l.group)), l.key}
			if seen[id] {
				continue
			}
			seen[id] = true
			b, a := before.value(l.group, l.key), after.value(l.group, l.key)
			if b != a {
				name := l.name
				if j := after.last(l.group, l.key); j >= 0 {
					name = after.lines[j].name
				}
				out = append(out, Change{Section: l.group, Name: name, Before: b, After: a})
			}
		}
	}
	visit(after)
	visit(before)
	return out
}

func (f *File) value(section, key string) OptionValue {
	i := f.last(section, key)
	if i < 0 {
		return OptionValue{}
	}
	l := &f.lines[i]
	return OptionValue{Present: true, HasValue: l.hasValue(), Value: l.value}
}

func upperLatin1String(s string) []byte {
	b := []byte(s)
	for i := range b {
		b[i] = upperLatin1(b[i])
	}
	return b
}
