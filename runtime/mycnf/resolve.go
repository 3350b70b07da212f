package mycnf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FS is where Resolve reads the files an option file includes.
type FS interface {
	// ReadFile returns a file's content; a missing file is an error
	// matching fs.ErrNotExist.
	ReadFile(path string) ([]byte, error)
	// ReadDir returns the names of the entries of dir.
	ReadDir(dir string) ([]string, error)
}

// OSFS is the local file system.
type OSFS struct{}

func (OSFS) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

func (OSFS) ReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, err
}

// maxIncludeDepth is the server's max_recursion_level: a directive nested
// deeper is skipped with a warning ("skipping ... as maximum include
// recursion level was reached").
const maxIncludeDepth = 10

// Config is an option file with every file it includes, read in the
// server's order: line by line, an !include read where it stands, an
// !includedir's files with the extension .cnf read there in name order
// (my_dir with MY_WANT_SORT; .ini and other names are skipped on Unix).
// An !include of a missing file is skipped, as the server skips it; an
// !includedir of a missing directory is an error, because the server
// refuses to start ("Can't read dir of ... Fatal error in defaults
// handling"; my_print_defaults and mariadbd 10.11, measured).
type Config struct {
	Files []*File // Files[0] is the top file, then each included file once
	read  []ref   // every option line, in the order the server reads them
	fsys  FS
	orig  []string // each file's bytes as read, for Changed
}

type ref struct{ file, line int }

// Setting is an option line and the file it is in.
type Setting struct {
	Option
	File *File
}

// Resolve follows top's includes through fsys.
func Resolve(top *File, fsys FS) (*Config, error) {
	c := &Config{Files: []*File{top}, fsys: fsys}
	if err := c.walk(fsys, 0, 0); err != nil {
		return nil, err
	}
	for _, f := range c.Files {
		c.orig = append(c.orig, string(f.Bytes()))
	}
	return c, nil
}

// reindex reads the files again after an edit, which moves lines; edits do
// not touch directives, so the same files are read.
func (c *Config) reindex() error {
	c.read = c.read[:0]
	return c.walk(c.fsys, 0, 0)
}

func (c *Config) walk(fsys FS, fi, depth int) error {
	f := c.Files[fi]
	for i := range f.lines {
		l := &f.lines[i]
		switch {
		case l.kind == optionLine:
			c.read = append(c.read, ref{fi, i})
		case l.kind == directiveLine && l.directive != "" && depth < maxIncludeDepth:
			paths, err := c.included(fsys, f, l)
			if err != nil {
				return fmt.Errorf("%s:%d: %w", f.name, i+1, err)
			}
			for _, p := range paths {
				if err := c.include(fsys, p, depth); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// included returns the files a directive reads.
func (c *Config) included(fsys FS, f *File, l *line) ([]string, error) {
	if l.directive == "include" {
		return []string{l.arg}, nil
	}
	names, err := fsys.ReadDir(l.arg)
	if err != nil {
		return nil, fmt.Errorf("!includedir %s: %w (the server refuses to start)", l.arg, err)
	}
	var paths []string
	for _, n := range names {
		if strings.HasSuffix(n, ".cnf") {
			paths = append(paths, filepath.Join(l.arg, n))
		}
	}
	slices.Sort(paths)
	return paths, nil
}

func (c *Config) include(fsys FS, path string, depth int) error {
	fi := slices.IndexFunc(c.Files, func(f *File) bool { return f.name == path })
	if fi < 0 {
		data, err := fsys.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // skipped by the server too
		}
		if err != nil {
			return fmt.Errorf("included file: %w", err)
		}
		f, err := parse(string(data), path)
		if err != nil {
			return err
		}
		c.Files = append(c.Files, f)
		fi = len(c.Files) - 1
	}
	return c.walk(fsys, fi, depth+1)
}

// inGroups reports whether group is one of groups.
func inGroups(group string, groups []string) bool {
	return slices.ContainsFunc(groups, func(g string) bool { return sameSection(g, group) })
}

// Settings returns the options of groups in the order the server reads
// them, repeats included: what my_print_defaults prints for those groups.
func (c *Config) Settings(groups []string) []Setting {
	var out []Setting
	for _, r := range c.read {
		f := c.Files[r.file]
		if inGroups(f.lines[r.line].group, groups) {
			out = append(out, Setting{Option: f.option(r.line), File: f})
		}
	}
	return out
}

// Get returns the option that takes effect for a program reading groups:
// the last one read, in any of them and any file, whose name matches name
// (as in File.Get).
func (c *Config) Get(groups []string, name string) (Setting, bool) {
	for k := len(c.read) - 1; k >= 0; k-- {
		r := c.read[k]
		f := c.Files[r.file]
		l := &f.lines[r.line]
		if inGroups(l.group, groups) && l.key == optionKey(l.group, name) {
			return Setting{Option: f.option(r.line), File: f}, true
		}
	}
	return Setting{}, false
}
