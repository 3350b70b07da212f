package main

import (
	"strings"

	"github.com/replicant-lua/replicant-lua/stdlib"
)

func bundledNames() string { return strings.Join(stdlib.Names(), ", ") }

func isBundledName(name string) bool {
	for _, n := range stdlib.Names() {
		if n == name {
			return true
		}
	}
	return false
}
