// Package stdlib holds the Lua bundled into the binary: procedures
// (stdlib/NAME.lua, runnable as `replicant-lua run NAME`) and library
// modules (stdlib/lib/NAME.lua). Playbooks load either with
// `require "replicant.NAME"`.
package stdlib

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.lua lib/*.lua
var files embed.FS

// Source returns the text of procedure NAME and its chunk name.
func Source(name string) (src []byte, chunk string, ok bool) {
	b, err := files.ReadFile(name + ".lua")
	return b, "stdlib/" + name + ".lua", err == nil
}

// Module returns the text of module NAME (a library or a procedure) and
// its chunk name, for require "replicant.NAME".
func Module(name string) (src []byte, chunk string, ok bool) {
	if b, err := files.ReadFile("lib/" + name + ".lua"); err == nil {
		return b, "stdlib/lib/" + name + ".lua", true
	}
	return Source(name)
}

// Names lists the bundled procedures.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, strings.TrimSuffix(e.Name(), ".lua"))
		}
	}
	sort.Strings(names)
	return names
}

// Doc is the comment block at the top of procedure or module NAME: its
// usage, as the file itself states it.
func Doc(name string) (string, bool) {
	src, _, ok := Module(name)
	if !ok {
		return "", false
	}
	var b strings.Builder
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "--") {
			break
		}
		b.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "--"), " ") + "\n")
	}
	return b.String(), true
}

// Modules lists the library modules (stdlib/lib).
func Modules() []string {
	entries, _ := fs.ReadDir(files, "lib")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".lua"))
	}
	sort.Strings(names)
	return names
}
