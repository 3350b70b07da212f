package bindings

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/deploy"
)

// The one grammar of a bundled procedure's options. A procedure declares
// each option once (M.options in its file); that declaration drives the
// command line (`run switchover -- --to db2 --max-lag 5s`), table calls
// (`require("replicant.switchover").run{ to = "db2" }`), doc, --help,
// shell completion and the LuaLS annotations. README.md ("Procedure
// options") describes it.

// Option kinds a procedure can declare.
const (
	optStringKind   = "string"
	optServerKind   = "server"   // a server of the deployment, by name (or host:port)
	optServersKind  = "servers"  // a list of them: db2,db3
	optListKind     = "list"     // a list of strings: a,b
	optDurationKind = "duration" // 30s, 2m, 500ms or seconds; the procedure reads seconds
	optCountKind    = "count"    // a whole number, 0 or more
	optNumberKind   = "number"   // any number
	optBooleanKind  = "boolean"  // a bare flag on the command line: --force
	optFunctionKind = "function" // a hook; table calls only
)

// kindWant is what a kind accepts, for error messages.
var kindWant = map[string]string{
	optStringKind:   "a string",
	optServerKind:   "a server name",
	optServersKind:  "server names (db2,db3)",
	optListKind:     "a list (a,b)",
	optDurationKind: "a duration like 30s, 2m or 500ms (or seconds)",
	optCountKind:    "a whole number",
	optNumberKind:   "a number",
	optBooleanKind:  "a boolean (true or false)",
	optFunctionKind: "a function",
}

// ProcOption is one declared option of a bundled procedure.
type ProcOption struct {
	Name     string // snake_case, as a table call spells it
	Kind     string
	Doc      string
	Default  string // in command-line syntax ("10s"); "" for none
	Required bool
	Choices  []string // the values a string option may take; nil for any
}

// Flag is the option as the command line spells it: --max-lag.
func (o ProcOption) Flag() string { return "--" + strings.ReplaceAll(o.Name, "_", "-") }

// Metavar names an option's value in help text.
func (o ProcOption) Metavar() string {
	if len(o.Choices) > 0 {
		return strings.Join(o.Choices, "|")
	}
	switch o.Kind {
	case optServerKind:
		return "SERVER"
	case optServersKind:
		return "SERVER,..."
	case optListKind:
		return "A,B"
	case optDurationKind:
		return "DURATION"
	case optCountKind, optNumberKind:
		return "N"
	case optStringKind:
		return "TEXT"
	}
	return ""
}

// CommandLine reports whether the option can be given on the command line
// (hooks cannot).
func (o ProcOption) CommandLine() bool { return o.Kind != optFunctionKind }

// TakesServer reports whether the option's value names deployment servers.
func (o ProcOption) TakesServer() bool { return o.Kind == optServerKind || o.Kind == optServersKind }

// ProcSpec is a bundled procedure's declaration: its options and whether
// it needs a deployment.
type ProcSpec struct {
	Name    string
	Options []ProcOption
	// NeedsDeployment: the procedure works on the deployment's servers,
	// so a run without -d is a usage error, unless the option named by
	// Unless is given (status and check can start from --from).
	NeedsDeployment bool
	Unless          string
}

// Option finds an option by its snake_case or --kebab-case name.
func (p ProcSpec) Option(name string) (ProcOption, bool) {
	name = strings.ReplaceAll(strings.TrimPrefix(name, "--"), "-", "_")
	for _, o := range p.Options {
		if o.Name == name {
			return o, true
		}
	}
	return ProcOption{}, false
}

// UsageError is a mistake in how a procedure was asked for: an unknown
// option, a value of the wrong kind, a missing required option, a server
// the deployment lacks, no deployment. The command exits 2 on it.
type UsageError struct{ Message string }

func (e *UsageError) Error() string { return e.Message }

func (p ProcSpec) usage(format string, args ...any) *UsageError {
	return &UsageError{Message: p.Name + ": " + fmt.Sprintf(format, args...)}
}

// names lists the options, as flags for the command line or as table
// keys.
func (p ProcSpec) names(cmdline bool) []string {
	var names []string
	for _, o := range p.Options {
		switch {
		case cmdline && o.CommandLine():
			names = append(names, o.Flag())
		case !cmdline:
			names = append(names, o.Name)
		}
	}
	return names
}

func (p ProcSpec) validNames(cmdline bool) string {
	if names := p.names(cmdline); len(names) > 0 {
		return "valid: " + strings.Join(names, ", ")
	}
	return "it takes none"
}

// unknown is the error for an option the procedure does not declare,
// with the one meant when it looks like a typo of it.
func (p ProcSpec) unknown(key string, cmdline bool) *UsageError {
	hint := ""
	if near := nearest(key, p.names(cmdline)); near != "" {
		hint = " (did you mean " + near + "?)"
	}
	return p.usage("unknown option %s%s (%s)", key, hint, p.validNames(cmdline))
}

// optValue is a decoded value: string, []string, float64 (durations in
// seconds, numbers, counts) or bool; a function stays a Lua value.
type optValue = any

// ParseArgs reads a procedure's command line: `--name value`,
// `--name=value`, and bare `--flag` for booleans (`--flag=false` too).
// globalFlag reports replicant-lua's own flags, so that one written after
// "--" is told to move before it. Defaults are not applied here.
func (p ProcSpec) ParseArgs(args []string, globalFlag func(string) bool) (map[string]optValue, error) {
	out := map[string]optValue{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if !strings.HasPrefix(arg, "--") || name == "" {
			return nil, p.usage("unexpected argument %q (options are --name value; %s)", arg, p.validNames(true))
		}
		o, ok := p.Option(name)
		if !ok || !o.CommandLine() {
			if globalFlag != nil && globalFlag(name) {
				return nil, p.usage("--%s is a flag of replicant-lua, not an option of %s: put it before \"--\" "+
					"(replicant-lua --%s run %s -- ...)", name, p.Name, name, p.Name)
			}
			return nil, p.unknown("--"+name, true)
		}
		if _, dup := out[o.Name]; dup {
			return nil, p.usage("%s given twice", o.Flag())
		}
		if o.Kind == optBooleanKind && !hasValue {
			out[o.Name] = true
			continue
		}
		if !hasValue {
			if i+1 >= len(args) || strings.HasPrefix(args[i+1], "--") {
				return nil, p.usage("%s needs a value: %s", o.Flag(), kindWant[o.Kind])
			}
			i++
			value = args[i]
		}
		v, err := parseOptText(o.Kind, value)
		if err == nil {
			err = o.checkChoice(v)
		}
		if err != nil {
			return nil, p.usage("%s: %v", o.Flag(), err)
		}
		out[o.Name] = v
	}
	return out, nil
}

// checkChoice refuses a value outside the declared choices.
func (o ProcOption) checkChoice(v optValue) error {
	s, ok := v.(string)
	if !ok || len(o.Choices) == 0 {
		return nil
	}
	for _, c := range o.Choices {
		if s == c {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", s, strings.Join(o.Choices, ", "))
}

// parseOptText reads one value in command-line syntax (also the syntax
// of declared defaults).
func parseOptText(kind, text string) (optValue, error) {
	switch kind {
	case optStringKind, optServerKind:
		return text, nil
	case optListKind, optServersKind:
		return splitList(text), nil
	case optDurationKind:
		d, err := parseDuration(text)
		if err != nil {
			return nil, err
		}
		return d.Seconds(), nil
	case optCountKind, optNumberKind:
		n, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, fmt.Errorf("%q is not %s", text, kindWant[kind])
		}
		return checkNumber(kind, n)
	case optBooleanKind:
		switch strings.ToLower(text) {
		case "true", "yes":
			return true, nil
		case "false", "no":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not true or false (a bare flag means true)", text)
	}
	return nil, fmt.Errorf("a %s cannot be given on the command line", kind)
}

func checkNumber(kind string, n float64) (optValue, error) {
	if kind == optCountKind && (n < 0 || n != math.Trunc(n)) {
		return nil, fmt.Errorf("%v is not %s", n, kindWant[kind])
	}
	return n, nil
}

func splitList(text string) []string {
	var out []string
	for _, item := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, item)
	}
	return out
}

// Complete finishes decoded options: the declared defaults fill what is
// absent, then required options, server names and the deployment are
// checked. cmdline picks how errors spell the options.
func (p ProcSpec) Complete(values map[string]optValue, d *deploy.Deployment, cmdline bool) error {
	spell := func(o ProcOption) string {
		if cmdline {
			return o.Flag()
		}
		return "option " + o.Name
	}
	if d == nil && p.NeedsDeployment {
		if _, given := values[p.Unless]; p.Unless == "" || !given {
			hint := ""
			if o, ok := p.Option(p.Unless); ok {
				hint = ", or give " + spell(o)
			}
			return p.usage("needs a deployment: give one with -d FILE (replicant-lua -d DEPLOYMENT.lua run %s -- ...)%s",
				p.Name, hint)
		}
	}
	for _, o := range p.Options {
		v, given := values[o.Name]
		if !given && o.Default != "" {
			dv, err := parseOptText(o.Kind, o.Default)
			if err != nil {
				return fmt.Errorf("%s: the default of %s: %w", p.Name, o.Name, err)
			}
			values[o.Name] = dv
			continue
		}
		if !given {
			if o.Required {
				return p.usage("%s is required (%s)", spell(o), o.Doc)
			}
			continue
		}
		if d != nil && o.TakesServer() {
			names, _ := v.([]string)
			if s, ok := v.(string); ok {
				names = []string{s}
			}
			for _, n := range names {
				err := knownServer(d, n)
				switch {
				case err == nil:
				case cmdline:
					return p.usage("%s %s: %v", o.Flag(), n, err)
				default:
					return p.usage("option %s: %v", o.Name, err)
				}
			}
		}
	}
	return nil
}

// knownServer accepts a deployment server's name, and an address
// (host:port, a socket path), which rep.server reaches directly.
func knownServer(d *deploy.Deployment, name string) error {
	if _, ok := d.Servers[name]; ok || strings.ContainsAny(name, ":/") {
		return nil
	}
	names := d.Names()
	sort.Strings(names)
	return fmt.Errorf("no server named %q in the deployment (servers: %s; or give host:port)", name,
		strings.Join(names, ", "))
}
