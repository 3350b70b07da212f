package bindings

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// planMachine is a server's machine in a dry run: it reads files for real
// and records everything else in the plan, through the server (which then
// marks later reads of it unverified): start, stop, restart, a file
// written (with the lines that would change), a command run.
type planMachine struct {
	m  machine.Machine
	sv *server.Server
}

func (p planMachine) String() string { return p.m.String() }

func (p planMachine) plan(kind, what string) {
	p.sv.Plan(kind, what+" (through "+p.m.String()+")")
}

func (p planMachine) Start(context.Context) error { p.plan(server.KindMachine, "start"); return nil }
func (p planMachine) Stop(context.Context) error  { p.plan(server.KindMachine, "stop"); return nil }
func (p planMachine) Restart(context.Context) error {
	p.plan(server.KindMachine, "restart")
	return nil
}

func (p planMachine) Running(ctx context.Context) (bool, error) { return p.m.Running(ctx) }

func (p planMachine) ReadFile(ctx context.Context, path string) ([]byte, error) {
	return p.m.ReadFile(ctx, path)
}

// WriteFile records the write with the lines it would add and remove.
func (p planMachine) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	old, err := p.m.ReadFile(ctx, path)
	if err != nil {
		old = nil // a new file: every line is added
	}
	p.plan(server.KindFile, fmt.Sprintf("write %s: %s", path, lineChanges(old, data)))
	return nil
}

// Run and RunStream may change anything: a dry run does not run them.
func (p planMachine) Run(_ context.Context, argv []string) ([]byte, error) {
	p.plan(server.KindMachine, "run "+strings.Join(argv, " "))
	return nil, fmt.Errorf("%s: dry run: %q was not run", p.sv, strings.Join(argv, " "))
}

func (p planMachine) RunStream(_ context.Context, argv []string, _ io.Reader, _ io.Writer) error {
	p.plan(server.KindMachine, "run "+strings.Join(argv, " "))
	return fmt.Errorf("%s: dry run: %q was not run", p.sv, strings.Join(argv, " "))
}

// lineChanges is "+read-only = 1; -read-only = 0": the lines of updated
// that old lacks, then those of old that updated lacks.
func lineChanges(old, updated []byte) string {
	lines := func(b []byte) []string {
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	missing := func(from, in []string, sign string) []string {
		left := map[string]int{}
		for _, l := range in {
			left[l]++
		}
		var out []string
		for _, l := range from {
			if left[l] > 0 {
				left[l]--
				continue
			}
			out = append(out, sign+l)
		}
		return out
	}
	o, u := lines(old), lines(updated)
	out := append(missing(u, o, "+"), missing(o, u, "-")...)
	switch {
	case len(out) > 0:
		return strings.Join(out, "; ")
	case bytes.Equal(old, updated):
		return "no change"
	}
	return "whitespace only"
}
