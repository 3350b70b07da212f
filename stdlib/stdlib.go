// Package stdlib holds the Lua procedures bundled into the binary. Each
// file is runnable as `replicant-lua run NAME` and loadable by playbooks
// as `require "replicant.NAME"`.
package stdlib

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.lua
var files embed.FS

// Source returns the text of stdlib/NAME.lua.
func Source(name string) ([]byte, bool) {
	b, err := files.ReadFile(name + ".lua")
	return b, err == nil
}

// Names lists the bundled procedures.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".lua"))
	}
	sort.Strings(names)
	return names
}
