package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/replicant-lua/replicant-lua/bindings"
	"github.com/replicant-lua/replicant-lua/stdlib"
)

// runDoc prints the bundled procedures and modules, or one of them: the
// comment each file starts with.
func runDoc(args []string, stdout, stderr io.Writer) int {
	if len(args) >= 1 && (args[0] == "--format" || strings.HasPrefix(args[0], "--format=")) {
		format, _ := strings.CutPrefix(args[0], "--format=")
		if args[0] == "--format" {
			if len(args) < 2 {
				fmt.Fprintln(stderr, "replicant-lua: doc --format needs a value (luals)")
				return exitUsage
			}
			format, args = args[1], args[1:]
		}
		if format != "luals" || len(args) > 1 {
			fmt.Fprintf(stderr, "replicant-lua: doc --format %s: the only format is luals, and it takes no name\n", format)
			return exitUsage
		}
		if err := bindings.WriteLuaLS(stdout); err != nil {
			fmt.Fprintln(stderr, "replicant-lua:", err)
			return exitFailed
		}
		return exitOK
	}
	if len(args) > 1 {
		fmt.Fprintln(stderr, "replicant-lua: doc takes at most one name")
		return exitUsage
	}
	if len(args) == 1 && args[0] == "procedure-options" {
		return procedureOptionsTopic(stdout, stderr)
	}
	if len(args) == 1 {
		if e, ok := bindings.LookupAPI(args[0]); ok {
			fmt.Fprint(stdout, apiText(e))
			return exitOK
		}
		text, ok := stdlib.Doc(strings.TrimPrefix(args[0], "replicant."))
		if !ok {
			fmt.Fprintf(stderr, "replicant-lua: doc: no bundled procedure or module %q, nor a Lua API name (procedures: %s; modules: %s; replicant-lua doc lists the API)\n",
				args[0], bundledNames(), strings.Join(stdlib.Modules(), ", "))
			return exitUsage
		}
		fmt.Fprint(stdout, text)
		if isBundledName(args[0]) {
			opts, err := procedureOptionsText(args[0])
			if err != nil {
				fmt.Fprintln(stderr, "replicant-lua:", err)
				return exitFailed
			}
			fmt.Fprint(stdout, opts)
		}
		return exitOK
	}
	fmt.Fprintln(stdout, "Bundled procedures (replicant-lua -d DEPLOYMENT run NAME -- --option value):")
	for _, name := range stdlib.Names() {
		fmt.Fprint(stdout, listLine(name, 16, summary(name)))
	}
	fmt.Fprintln(stdout, "Modules (require \"replicant.NAME\"):")
	for _, name := range stdlib.Modules() {
		fmt.Fprint(stdout, listLine(name, 16, summary(name)))
	}
	class := "-"
	for _, e := range bindings.APIEntries {
		if e.Class != class {
			class = e.Class
			title := class
			if title == "" {
				title = "Topics"
			}
			fmt.Fprintf(stdout, "Lua API: %s\n", title)
		}
		fmt.Fprint(stdout, listLine(e.Name, 24, e.Summary))
	}
	fmt.Fprintln(stdout, "doc NAME prints one: doc server:replica_status, doc rep.step, doc errors.")
	fmt.Fprintln(stdout, "doc --format luals > replicant.d.lua writes annotations for editors.")
	return exitOK
}

// apiText is doc NAME for an API entry: the signature, the summary, the
// parameters, returns and the fields of the table it returns.
func apiText(e bindings.APIEntry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n", e.Signature, e.Summary)
	if e.Text != "" {
		fmt.Fprintf(&b, "%s\n", e.Text)
	}
	list := func(title string, fs []bindings.APIField) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, f := range fs {
			name := f.Name
			if name == "" {
				name = "(value)"
			}
			line := fmt.Sprintf("  %-22s %s", name, f.Type)
			if f.Doc != "" {
				line += "  — " + f.Doc
			}
			b.WriteString(line + "\n")
		}
	}
	list("Parameters", e.Params)
	list("Returns", e.Returns)
	list("Fields", e.Fields)
	return b.String()
}

// summary is the first sentence of a file's leading comment, without the
// "name: " it starts with.
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
	// The whole sentence, even past the line: a summary cut mid-phrase
	// can say the opposite of the procedure.
	return para
}

// listLine is one entry of the listing: the name in a column, then the
// summary wrapped at words to 80 columns, never cut.
func listLine(name string, col int, text string) string {
	const width = 80
	indent := strings.Repeat(" ", 2+col+1)
	var b strings.Builder
	line := fmt.Sprintf("  %-*s", col, name)
	if len(line) > 2+col { // a long name: the summary starts on the next line
		b.WriteString(line + "\n")
		line = indent[:len(indent)-1]
	}
	for _, w := range strings.Fields(text) {
		if len([]rune(line))+1+len([]rune(w)) > width && strings.TrimSpace(line) != "" && len(line) > len(indent) {
			b.WriteString(line + "\n")
			line = indent[:len(indent)-1]
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
	return b.String()
}

// procedureOptionsText is the Options section of doc NAME and run NAME
// --help, from the procedure's own declaration.
func procedureOptionsText(name string) (string, error) {
	p, ok := procedureSpec(name)
	if !ok {
		return "", fmt.Errorf("doc: cannot read the options of %s", name)
	}
	var b strings.Builder
	var hooks []bindings.ProcOption
	fmt.Fprintf(&b, "\nOptions (replicant-lua -d DEPLOYMENT.lua run %s -- --option value):\n", name)
	n := 0
	for _, o := range p.Options {
		if !o.CommandLine() {
			hooks = append(hooks, o)
			continue
		}
		n++
		left := strings.TrimSpace(o.Flag() + " " + o.Metavar())
		doc := o.Doc
		switch {
		case o.Required:
			doc += " (required)"
		case o.Default != "":
			doc += " (default " + o.Default + ")"
		}
		b.WriteString(listLine(left, 26, doc))
	}
	if n == 0 {
		b.WriteString("  none\n")
	}
	if len(hooks) > 0 {
		fmt.Fprintf(&b, "From Lua only (require(\"replicant.%s\").run{ ... }):\n", name)
		for _, o := range hooks {
			b.WriteString(listLine(o.Name, 26, o.Doc))
		}
	}
	if n > 0 {
		b.WriteString(wrap("Durations are 30s, 2m, 500ms or seconds; lists are db2,db3. In Lua the keys are snake_case (" +
			luaExample(p) + "). replicant-lua's own flags (--dry-run, --yes, --json) go before run."))
	}
	return b.String(), nil
}

func luaExample(p bindings.ProcSpec) string {
	for _, o := range p.Options {
		if o.CommandLine() && strings.Contains(o.Name, "_") {
			return o.Flag() + " is " + o.Name
		}
	}
	return "--max-lag is max_lag"
}

// wrap fills text to 80 columns.
func wrap(text string) string {
	var b strings.Builder
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > 80 {
			b.WriteString(line + "\n")
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return b.String() + line + "\n"
}

// procedureOptionsTopic is doc procedure-options: every bundled
// procedure's options as a table call spells them, from the declarations.
func procedureOptionsTopic(stdout, stderr io.Writer) int {
	specs, err := bindings.ProcedureSpecs()
	if err != nil {
		fmt.Fprintln(stderr, "replicant-lua:", err)
		return exitFailed
	}
	fmt.Fprint(stdout, wrap("require(\"replicant.NAME\").run{...} takes the options of run NAME -- --option value, "+
		"snake_case, hooks included; a wrong key or type raises an error of kind usage. doc NAME shows one procedure's."))
	for _, p := range specs {
		if len(p.Options) == 0 {
			continue
		}
		fmt.Fprintf(stdout, "\n%s:\n", p.Name)
		for _, o := range p.Options {
			doc := o.Doc
			switch {
			case o.Required:
				doc += " (required)"
			case o.Default != "":
				doc += " (default " + o.Default + ")"
			}
			fmt.Fprint(stdout, listLine(o.Name+" "+o.LuaType(), 34, doc))
		}
	}
	return exitOK
}
