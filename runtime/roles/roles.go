// Package roles configures servers the way the Python Replicant's roles
// did — master, final, relay, vagabond — without its silent failures: a
// role edits the server's option file (comments and order kept), restarts
// the server through its machine only when the file changed, and then
// does its SQL part; any failure raises, and a restart that fails puts the
// previous option file back.
package roles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/mycnf"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Target is the server a role is given to.
type Target struct {
	Server     *server.Server
	Machine    machine.Machine // starts and stops it, and reaches its files
	OptionFile string          // the option file on the machine
	// Section is the group new lines go to ("" is mysqld). Lines already
	// there are edited in every group the server reads (flavor's
	// OptionGroups, and Section), in the option file and the files it
	// includes, where the server reads them.
	Section  string
	ServerID int // server-id to set; 0 keeps the file's
}

// Edit is one change to the option file.
type Edit struct {
	Name   string
	Value  string
	Flag   bool // an option without a value (log-slave-updates)
	Remove bool
}

// Role is what a server becomes.
type Role interface {
	Name() string
	// Edits are the option-file changes the role needs.
	Edits(t Target) []Edit
	// Apply does the role's SQL once the server runs with the new options.
	Apply(ctx context.Context, t Target) error
}

// Preparer is a role with work to do before its option edits take effect
// (a relay installs the BLACKHOLE engine, which its default-storage-engine
// names, before the restart that reads it).
type Preparer interface {
	Prepare(ctx context.Context, t Target) error
}

// Result says what Imbue did.
type Result struct {
	Changed   bool // the option file was changed
	Restarted bool // and the server restarted to read it
}

// Imbue gives role r to the target: edit the option file, restart when it
// changed, apply the role's SQL.
func Imbue(ctx context.Context, t Target, r Role) (Result, error) {
	var res Result
	if t.Section == "" {
		t.Section = "mysqld"
	}
	if p, ok := r.(Preparer); ok {
		if err := p.Prepare(ctx, t); err != nil {
			return res, fmt.Errorf("%s: imbue %s: %w", t.Server, r.Name(), err)
		}
	}
	edits := r.Edits(t)
	if t.ServerID != 0 {
		edits = append([]Edit{{Name: "server-id", Value: fmt.Sprint(t.ServerID)}}, edits...)
	}
	if len(edits) > 0 {
		changed, err := editAndRestart(ctx, t, edits)
		if err != nil {
			return res, fmt.Errorf("%s: imbue %s: %w", t.Server, r.Name(), err)
		}
		res.Changed, res.Restarted = changed, changed
	}
	if err := r.Apply(ctx, t); err != nil {
		return res, fmt.Errorf("%s: imbue %s: %w", t.Server, r.Name(), err)
	}
	return res, nil
}

// editAndRestart applies edits to the option file, and to the files it
// includes where a line there is the one that takes effect, and restarts
// the server when a file changed. If the server does not come back, the
// old files are written again and the server started with them.
func editAndRestart(ctx context.Context, t Target, edits []Edit) (bool, error) {
	if t.Machine == nil || t.OptionFile == "" {
		return false, errors.New("the role changes the option file, and the server has no machine " +
			"(set machine = { ... } and option_file in the deployment)")
	}
	fl, err := t.Server.Flavor(ctx)
	if err != nil {
		return false, err
	}
	old, err := t.Machine.ReadFile(ctx, t.OptionFile)
	if err != nil {
		return false, fmt.Errorf("read option file: %w", err)
	}
	top, err := mycnf.Parse(bytes.NewReader(old), t.OptionFile)
	if err != nil {
		return false, err
	}
	c, err := mycnf.Resolve(top, machineFS{ctx, t.Machine})
	if err != nil {
		return false, err
	}
	groups := fl.OptionGroups()
	if !slices.ContainsFunc(groups, func(g string) bool { return strings.EqualFold(g, t.Section) }) {
		groups = append(groups, t.Section)
	}
	for _, e := range edits {
		if err := apply(c, groups, t.Section, e); err != nil {
			return false, fmt.Errorf("option file %s: %s: %w", t.OptionFile, e.Name, err)
		}
	}
	changed := c.Changed()
	if len(changed) == 0 {
		return false, nil
	}
	var written []saved
	for _, f := range changed {
		before, err := t.Machine.ReadFile(ctx, f.Name())
		if err == nil {
			err = t.Machine.WriteFile(ctx, f.Name(), f.Bytes(), 0o644)
		}
		if err != nil {
			return false, restoreFiles(ctx, t, written, fmt.Errorf("write option file %s: %w", f.Name(), err))
		}
		written = append(written, saved{f.Name(), before})
	}
	t.Server.Close() // its connections die with the restart
	if err := t.Machine.Restart(ctx); err != nil {
		return true, restore(ctx, t, written, err)
	}
	return true, nil
}

// saved is an option file's content before the role wrote it.
type saved struct {
	path string
	data []byte
}

// restoreFiles writes the saved files back; the error says what failed
// and whether the files are back.
func restoreFiles(ctx context.Context, t Target, files []saved, cause error) error {
	for _, f := range files {
		if err := t.Machine.WriteFile(ctx, f.path, f.data, 0o644); err != nil {
			return fmt.Errorf("%w; restoring the previous option file %s also failed: %v", cause, f.path, err)
		}
	}
	return cause
}

// restore puts the previous option files back after a failed restart and
// starts the server with them; the error says both what failed and how
// the server was left.
func restore(ctx context.Context, t Target, files []saved, cause error) error {
	for _, f := range files {
		if err := t.Machine.WriteFile(ctx, f.path, f.data, 0o644); err != nil {
			return fmt.Errorf("restart failed (%w); restoring the previous option file %s also failed: %v", cause, f.path, err)
		}
	}
	if err := t.Machine.Start(ctx); err != nil {
		return fmt.Errorf("restart failed (%w); the previous option file is back but the server did not start: %v", cause, err)
	}
	return fmt.Errorf("restart failed, previous option file restored and the server runs with it: %w", cause)
}

// OptionFS reads a server's option file and the files it includes on the
// server's machine, for mycnf.Resolve.
func OptionFS(ctx context.Context, m machine.Machine) mycnf.FS { return machineFS{ctx, m} }

// machineFS reads included option files on the server's machine. A
// directory is listed with find, NUL-separated, so that any file name
// survives.
type machineFS struct {
	ctx context.Context
	m   machine.Machine
}

func (m machineFS) ReadFile(path string) ([]byte, error) { return m.m.ReadFile(m.ctx, path) }

func (m machineFS) ReadDir(dir string) ([]string, error) {
	out, err := m.m.Run(m.ctx, []string{"find", dir, "-mindepth", "1", "-maxdepth", "1", "-printf", "%f\\0"})
	if err != nil {
		return nil, err
	}
	return strings.FieldsFunc(string(out), func(r rune) bool { return r == 0 }), nil
}

func apply(c *mycnf.Config, groups []string, section string, e Edit) error {
	switch {
	case e.Remove:
		_, err := c.Remove(groups, e.Name)
		return err
	case e.Flag:
		if _, ok := c.Get(groups, e.Name); ok {
			return nil
		}
		return c.SetFlag(groups, section, e.Name)
	}
	if o, ok := c.Get(groups, e.Name); ok && o.HasValue && o.Value == e.Value {
		return nil
	}
	return c.Set(groups, section, e.Name, e.Value)
}
