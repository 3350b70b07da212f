package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/replicant-lua/replicant-lua/stdlib"
)

// runDoc prints the bundled procedures and modules, or one of them: the
// comment each file starts with.
func runDoc(args []string, stdout, stderr io.Writer) int {
	if len(args) > 1 {
		fmt.Fprintln(stderr, "replicant-lua: doc takes at most one name")
		return exitUsage
	}
	if len(args) == 1 {
		text, ok := stdlib.Doc(strings.TrimPrefix(args[0], "replicant."))
		if !ok {
			fmt.Fprintf(stderr, "replicant-lua: doc: no bundled procedure or module %q (procedures: %s; modules: %s)\n",
				args[0], bundledNames(), strings.Join(stdlib.Modules(), ", "))
			return exitUsage
		}
		fmt.Fprint(stdout, text)
		return exitOK
	}
	fmt.Fprintln(stdout, "Bundled procedures (replicant-lua -d DEPLOYMENT run NAME -- --option value):")
	for _, name := range stdlib.Names() {
		fmt.Fprintf(stdout, "  %-16s %s\n", name, summary(name))
	}
	fmt.Fprintln(stdout, "Modules (require \"replicant.NAME\"):")
	for _, name := range stdlib.Modules() {
		fmt.Fprintf(stdout, "  %-16s %s\n", name, summary(name))
	}
	fmt.Fprintln(stdout, "replicant-lua doc NAME prints one; the Lua API is described in README.md.")
	return exitOK
}

// summary is the first sentence of a file's leading comment, without the
// "name: " it starts with, cut at a word to fit one line of the listing.
func summary(name string) string {
	text, _ := stdlib.Doc(name)
	para, _, _ := strings.Cut(text, "\n\n")
	para = strings.Join(strings.Fields(para), " ")
	if _, rest, ok := strings.Cut(para, ": "); ok {
		para = rest
	}
	if i := strings.Index(para, ". "); i >= 0 {
		para = para[:i+1]
	}
	const width = 80 - 19 // the listing's indent and name column
	if len(para) <= width {
		return para
	}
	cut := strings.LastIndexByte(para[:width-2], ' ')
	if cut < 0 {
		cut = width - 2
	}
	return strings.TrimRight(para[:cut], " ,;—-") + " …"
}
