package mycnf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"",
	"[mysqld]\nport = 3306 # c\nskip-name-resolve\n",
	"# c\n; c\n\n[client]\r\npassword = \"a\\\"b # c\" # real\r\n",
	"[a]\nv = 'x' 'y'\nw = \\s x \\s\nx=C:\\data\\\n!include /a\n!includedir /b/\n[ b ]junk\ny=\"\"",
	"[mysqld]\nloose-log-bin=a\nlog_bin = b # c\n[MYSQLD]\nlog-bin",
	"[a]\nv = voil\xc3\xa0\n\xa0\n\v[b]\n",
}

func addSeeds(f *testing.F, extra func(string)) {
	paths, _ := filepath.Glob("testdata/*/*.cnf")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		extra(string(data))
	}
	for _, s := range fuzzSeeds {
		extra(s)
	}
}

// FuzzRoundTrip: whatever parses is written back byte for byte; whatever
// does not parse fails with a SyntaxError naming a line of the input.
func FuzzRoundTrip(f *testing.F) {
	addSeeds(f, func(s string) { f.Add([]byte(s)) })
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(bytes.NewReader(data), "fuzz.cnf")
		if err != nil {
			var se *SyntaxError
			lines := len(splitLines(string(data)))
			if !errors.As(err, &se) || se.Line < 1 || se.Line > lines ||
				!strings.HasPrefix(err.Error(), fmt.Sprintf("fuzz.cnf:%d: ", se.Line)) {
				t.Fatalf("bad error %v for %d lines", err, lines)
			}
			return
		}
		if got := file.Bytes(); !bytes.Equal(got, data) {
			t.Fatalf("round trip:\n got %q\nwant %q", got, data)
		}
		for _, s := range file.Sections() {
			for _, o := range file.Options(s) {
				if enc := encodeValue(o.Value, 0); decodeValue(enc) != o.Value {
					t.Fatalf("encode(%q) = %q does not decode back", o.Value, enc)
				}
				last, ok := file.Get(s, o.Name)
				if !ok || last.Line < o.Line {
					t.Fatalf("Get(%q, %q) = %+v, %v; not the last of line %d", s, o.Name, last, ok, o.Line)
				}
			}
		}
	})
}

// FuzzEdit: after Set, SetFlag or Remove the file still parses, Get reads
// what was set, every other option reads as before, and only the edited
// lines changed. A refused edit leaves the file as it was.
func FuzzEdit(f *testing.F) {
	addSeeds(f, func(s string) {
		f.Add([]byte(s), uint8(0), uint8(0), "new-option", "a value # with 'quotes'")
		f.Add([]byte(s), uint8(1), uint8(3), "log_bin", "")
		f.Add([]byte(s), uint8(2), uint8(4), "port", "3307")
	})
	f.Fuzz(func(t *testing.T, data []byte, op, pick uint8, name, value string) {
		file, err := Parse(bytes.NewReader(data), "fuzz.cnf")
		if err != nil {
			return
		}
		section, name := target(file, pick, name)
		before := snapshot(file)
		switch op % 3 {
		case 0:
			err = file.Set(section, name, value)
		case 1:
			err = file.SetFlag(section, name)
		case 2:
			file.Remove(section, name)
		}
		after := file.Bytes()
		if err != nil {
			if !bytes.Equal(after, data) {
				t.Fatalf("refused edit (%v) changed the file", err)
			}
			return
		}
		reparsed, err := Parse(bytes.NewReader(after), "fuzz.cnf")
		if err != nil {
			t.Fatalf("edited file does not parse: %v\n%q", err, after)
		}
		got, ok := reparsed.Get(section, name)
		switch op % 3 {
		case 0:
			if !ok || !got.HasValue || got.Value != value {
				t.Fatalf("Set(%q, %q, %q) then Get = %+v, %v\n%q", section, name, value, got, ok, after)
			}
		case 1:
			if !ok || got.HasValue {
				t.Fatalf("SetFlag(%q, %q) then Get = %+v, %v", section, name, got, ok)
			}
		case 2:
			if ok {
				t.Fatalf("Remove(%q, %q) then Get = %+v", section, name, got)
			}
		}
		checkOthers(t, before, reparsed, section, name)
		checkLines(t, data, after, op%3 == 2)
	})
}

// target picks an existing option half of the time, else the fuzzed name in
// an existing section (or a new one).
func target(file *File, pick uint8, name string) (string, string) {
	var all []Option
	for _, s := range file.Sections() {
		all = append(all, file.Options(s)...)
	}
	if pick%2 == 0 && len(all) > 0 {
		o := all[int(pick/2)%len(all)]
		return o.Section, o.Name
	}
	if s := file.Sections(); len(s) > 0 && pick%4 == 1 {
		return s[int(pick/4)%len(s)], name
	}
	return "mysqld", name
}

func snapshot(file *File) map[[2]string]Option {
	m := map[[2]string]Option{}
	for _, s := range file.Sections() {
		for _, o := range file.Options(s) {
			m[[2]string{s, o.Name}], _ = file.Get(s, o.Name)
		}
	}
	return m
}

func checkOthers(t *testing.T, before map[[2]string]Option, after *File, section, name string) {
	t.Helper()
	for k, want := range before {
		if sameSection(k[0], section) && optionKey(k[0], k[1]) == optionKey(section, name) {
			continue
		}
		got, ok := after.Get(k[0], k[1])
		if !ok || got.Name != want.Name || got.Value != want.Value || got.HasValue != want.HasValue {
			t.Fatalf("edit of [%s] %s changed [%s] %s: %+v -> %+v, %v", section, name, k[0], k[1], want, got, ok)
		}
	}
}

// checkLines: an edit replaces at most one line and adds at most four (the
// previous last line gaining a newline, a blank, a header, the option); a
// removal only deletes lines.
func checkLines(t *testing.T, old, new []byte, removal bool) {
	t.Helper()
	a, b := splitLines(string(old)), splitLines(string(new))
	if removal {
		j := 0
		for i := 0; i < len(a) && j < len(b); i++ {
			if a[i] == b[j] {
				j++
			}
		}
		if j != len(b) {
			t.Fatalf("removal changed lines:\n%q\n%q", old, new)
		}
		return
	}
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	if removed, added := len(a)-p-s, len(b)-p-s; removed > 1 || added > 4 {
		t.Fatalf("edit changed %d lines and added %d:\n%q\n%q", removed, added, old, new)
	}
}
