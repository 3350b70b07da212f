package mycnf

import (
	"fmt"
)

// Set makes a program that reads groups read value for name. The line that
// takes effect now is rewritten where it is, in an included file too (see
// Changed); without one, the line is added to section of the top file, as
// File.Set does. The files are then read again: if the value still does not
// take effect, the edit is undone and the error names the line that wins.
func (c *Config) Set(groups []string, section, name, value string) error {
	return c.set(groups, section, name, value, true)
}

// SetFlag is Set for an option without a value.
func (c *Config) SetFlag(groups []string, section, name string) error {
	return c.set(groups, section, name, "", false)
}

func (c *Config) set(groups []string, section, name, value string, hasValue bool) error {
	saved := c.snapshot()
	f, at := c.Files[0], section
	if s, ok := c.Get(groups, name); ok {
		f, at = s.File, s.Section
	}
	err := f.set(at, name, value, hasValue)
	if err == nil {
		err = c.reindex()
	}
	if err == nil {
		s, ok := c.Get(groups, name)
		if !ok || s.HasValue != hasValue || s.Value != value {
			err = fmt.Errorf("%s: set [%s] %s: %s:%d [%s] %s is read later and wins", c.Files[0].name, section, name,
				s.File.Name(), s.Line, s.Section, s.Name)
		}
	}
	if err != nil {
		c.restore(saved)
		return err
	}
	return nil
}

// Remove deletes every option that matches name in groups, in every file,
// and reports whether there was one.
func (c *Config) Remove(groups []string, name string) (bool, error) {
	removed := false
	for _, f := range c.Files {
		for _, g := range groups {
			if f.Remove(g, name) {
				removed = true
			}
		}
	}
	return removed, c.reindex()
}

// Changed returns the files whose content differs from what Resolve read.
func (c *Config) Changed() []*File {
	var out []*File
	for i, f := range c.Files {
		if string(f.Bytes()) != c.orig[i] {
			out = append(out, f)
		}
	}
	return out
}

func (c *Config) snapshot() [][]line {
	out := make([][]line, len(c.Files))
	for i, f := range c.Files {
		out[i] = f.lines
	}
	return out
}

func (c *Config) restore(saved [][]line) {
	for i, f := range c.Files {
		f.lines = saved[i]
	}
	c.reindex()
}
