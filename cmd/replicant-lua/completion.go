package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/replicant-lua/replicant-lua/bindings"
	"github.com/replicant-lua/replicant-lua/stdlib"
)

// Shell completion: `replicant-lua completion bash|zsh|fish` prints a
// script; the script asks the hidden `replicant-lua __complete WORDS...`
// (the words after the program name, the last one the word being typed)
// for candidates, one a line. No candidate means "complete a file name".
// Everything it knows comes from the flag set, the bundled procedures'
// declarations and the -d file's server names, read without connecting.

const bashCompletion = `# bash completion for replicant-lua: source <(replicant-lua completion bash)
_replicant_lua() {
    local IFS=$'\n'
    COMPREPLY=($(command "${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _replicant_lua replicant-lua
`

const zshCompletion = `#compdef replicant-lua
# zsh completion for replicant-lua: source <(replicant-lua completion zsh)
_replicant_lua() {
  local -a candidates
  candidates=("${(@f)$(command ${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ -n ${candidates[1]} ]]; then
    compadd -- "${candidates[@]}"
  else
    _files
  fi
}
compdef _replicant_lua replicant-lua
`

const fishCompletion = `# fish completion for replicant-lua: replicant-lua completion fish | source
function __replicant_lua_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out (command $words[1] __complete $words[2..-1] 2>/dev/null)
    if test (count $out) -gt 0
        printf '%s\n' $out
    else
        __fish_complete_path (commandline -ct)
    end
end
complete -c replicant-lua -f -a '(__replicant_lua_complete)'
`

// runCompletion serves `completion SHELL` and `__complete WORDS...`.
func runCompletion(args []string, stdout, stderr io.Writer) int {
	if args[0] == "__complete" {
		words := args[1:]
		if len(words) == 0 {
			words = []string{""}
		}
		for _, c := range complete(words) {
			fmt.Fprintln(stdout, c)
		}
		return exitOK
	}
	scripts := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}
	if len(args) != 2 || scripts[args[1]] == "" {
		fmt.Fprintln(stderr, "replicant-lua: completion needs one shell: bash, zsh or fish (source <(replicant-lua completion bash))")
		return exitUsage
	}
	fmt.Fprint(stdout, scripts[args[1]])
	return exitOK
}

// complete returns the candidates for the last word, given those before.
func complete(words []string) []string {
	cur, before := words[len(words)-1], words[:len(words)-1]
	fs := newFlagSet(&globals{}, io.Discard, io.Discard)
	dep, i := "", 0
	for i < len(before) && strings.HasPrefix(before[i], "-") {
		f, value, inline := lookupFlag(fs, before[i])
		i++
		if f == nil || f.Value.Type() == "bool" {
			continue
		}
		if !inline {
			if i == len(before) {
				return nil // cur is this flag's value: a file, a duration, code
			}
			value = before[i]
			i++
		}
		if f.Name == "deployment" {
			dep = value
		}
	}
	if i == len(before) {
		if strings.HasPrefix(cur, "-") {
			return matching(cur, globalFlagNames(fs))
		}
		return matching(cur, []string{"run", "repl", "doc", "help", "sandbox", "test", "watch", "completion"})
	}
	args := before[i+1:]
	switch before[i] {
	case "run":
		return completeRun(args, cur, dep)
	case "doc", "help":
		if len(args) == 0 {
			return matching(cur, append(stdlib.Names(), stdlib.Modules()...))
		}
	case "sandbox":
		if len(args) == 0 {
			return matching(cur, []string{"up", "down", "status"})
		}
	case "completion":
		if len(args) == 0 {
			return matching(cur, []string{"bash", "zsh", "fish"})
		}
	}
	return nil
}

// lookupFlag finds a global flag written as --name, --name=value, -d or
// -dvalue.
func lookupFlag(fs *pflag.FlagSet, word string) (f *pflag.Flag, value string, inline bool) {
	if long, ok := strings.CutPrefix(word, "--"); ok {
		name, value, inline := strings.Cut(long, "=")
		return fs.Lookup(name), value, inline
	}
	short := strings.TrimPrefix(word, "-")
	if short == "" {
		return nil, "", false
	}
	return fs.ShorthandLookup(short[:1]), short[1:], len(short) > 1
}

func globalFlagNames(fs *pflag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) {
		out = append(out, "--"+f.Name)
		if f.Shorthand != "" {
			out = append(out, "-"+f.Shorthand)
		}
	})
	return out
}

// completeRun completes after "run": a procedure name (or a file), "--",
// then that procedure's options and, after one that names servers, the
// deployment's server names.
func completeRun(args []string, cur, dep string) []string {
	if len(args) == 0 {
		return matching(cur, stdlib.Names())
	}
	if !isBundledName(args[0]) {
		return nil
	}
	dash := -1
	for i, a := range args {
		if a == "--" {
			dash = i
			break
		}
	}
	if dash < 0 {
		return matching(cur, []string{"--", "--help"})
	}
	p, ok := procedureSpec(args[0])
	if !ok {
		return nil
	}
	given := args[dash+1:]
	if len(given) > 0 && !strings.HasPrefix(cur, "--") {
		if o, ok := p.Option(strings.TrimPrefix(given[len(given)-1], "--")); ok && o.Kind != "boolean" &&
			strings.HasPrefix(given[len(given)-1], "--") {
			if len(o.Choices) > 0 {
				return matching(cur, o.Choices)
			}
			if !o.TakesServer() {
				return nil
			}
			return serverCandidates(o, cur, dep)
		}
	}
	used := map[string]bool{}
	for _, g := range given {
		name, _, _ := strings.Cut(g, "=")
		used[name] = true
	}
	var flags []string
	for _, o := range p.Options {
		if o.CommandLine() && !used[o.Flag()] {
			flags = append(flags, o.Flag())
		}
	}
	return matching(cur, flags)
}

// serverCandidates are the deployment's server names; for a list
// (db2,d) each candidate keeps what was typed before the last comma.
func serverCandidates(o bindings.ProcOption, cur, dep string) []string {
	if dep == "" {
		return nil
	}
	prefix := ""
	if o.Kind == "servers" {
		if at := strings.LastIndex(cur, ","); at >= 0 {
			prefix, cur = cur[:at+1], cur[at+1:]
		}
	}
	var out []string
	for _, n := range matching(cur, bindings.DeploymentServerNames(dep)) {
		out = append(out, prefix+n)
	}
	return out
}

func procedureSpec(name string) (bindings.ProcSpec, bool) {
	specs, err := bindings.ProcedureSpecs()
	if err != nil {
		return bindings.ProcSpec{}, false
	}
	for _, p := range specs {
		if p.Name == name {
			return p, true
		}
	}
	return bindings.ProcSpec{}, false
}

func matching(prefix string, words []string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}
