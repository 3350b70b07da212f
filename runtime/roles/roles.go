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

	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/mycnf"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Target is the server a role is given to.
type Target struct {
	Server     *server.Server
	Machine    machine.Machine // starts and stops it, and reaches its files
	OptionFile string          // the option file on the machine
	Section    string          // the group the server reads; "" is mysqld
	ServerID   int             // server-id to set; 0 keeps the file's
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

// editAndRestart applies edits to the option file and restarts the server
// when the file changed. If the server does not come back, the old file is
// written again and the server started with it.
func editAndRestart(ctx context.Context, t Target, edits []Edit) (bool, error) {
	if t.Machine == nil || t.OptionFile == "" {
		return false, errors.New("the role changes the option file, and the server has no machine " +
			"(set machine = { ... } and option_file in the deployment)")
	}
	old, err := t.Machine.ReadFile(ctx, t.OptionFile)
	if err != nil {
		return false, fmt.Errorf("read option file: %w", err)
	}
	f, err := mycnf.Parse(bytes.NewReader(old), t.OptionFile)
	if err != nil {
		return false, err
	}
	for _, e := range edits {
		if err := apply(f, t.Section, e); err != nil {
			return false, fmt.Errorf("option file %s: %s: %w", t.OptionFile, e.Name, err)
		}
	}
	updated := f.Bytes()
	if bytes.Equal(old, updated) {
		return false, nil
	}
	if err := t.Machine.WriteFile(ctx, t.OptionFile, updated, 0o644); err != nil {
		return false, fmt.Errorf("write option file: %w", err)
	}
	t.Server.Close() // its connections die with the restart
	if err := t.Machine.Restart(ctx); err != nil {
		return true, restore(ctx, t, old, err)
	}
	return true, nil
}

// restore puts the previous option file back after a failed restart and
// starts the server with it; the error says both what failed and how the
// server was left.
func restore(ctx context.Context, t Target, old []byte, cause error) error {
	if err := t.Machine.WriteFile(ctx, t.OptionFile, old, 0o644); err != nil {
		return fmt.Errorf("restart failed (%w); restoring the previous option file also failed: %v", cause, err)
	}
	if err := t.Machine.Start(ctx); err != nil {
		return fmt.Errorf("restart failed (%w); the previous option file is back but the server did not start: %v", cause, err)
	}
	return fmt.Errorf("restart failed, previous option file restored and the server runs with it: %w", cause)
}

func apply(f *mycnf.File, section string, e Edit) error {
	switch {
	case e.Remove:
		f.Remove(section, e.Name)
		return nil
	case e.Flag:
		if _, ok := f.Get(section, e.Name); ok {
			return nil
		}
		return f.SetFlag(section, e.Name)
	}
	if o, ok := f.Get(section, e.Name); ok && o.HasValue && o.Value == e.Value {
		return nil
	}
	return f.Set(section, e.Name, e.Value)
}
