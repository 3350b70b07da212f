package bindings

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/backup"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// A machine of runtime/machine stops and starts a restore's target as is.
var _ backup.Controller = machine.Machine(nil)

// backupFunctions are the module functions rep.backup and rep.restore.
func (s *State) backupFunctions() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"backup":       s.repBackup,
		"restore":      s.repRestore,
		"remove_image": s.repRemoveImage,
	}
}

// rep.remove_image(dir) → true when it deleted the image rep.backup wrote
// there (a clone's temporary copy), false when dir does not exist. It
// deletes only an image: a directory without a readable manifest, or
// with files no image has, raises and is left whole. In a dry run it is
// recorded in the plan instead, and returns true.
func (s *State) repRemoveImage(L *lua.LState) int {
	dir := L.CheckString(1)
	if s.cfg.DryRun {
		if s.observer != nil {
			s.observer.Statement(server.Statement{SQL: "remove image " + dir, Start: time.Now(), Planned: true,
				Kind: server.KindBackup})
		}
		L.Push(lua.LTrue)
		return 1
	}
	err := backup.RemoveImage(dir)
	if errors.Is(err, backup.ErrNoImage) {
		L.Push(lua.LFalse)
		return 1
	}
	s.audit("remove_image", dir, map[string]any{"error": errText(err)})
	if err != nil {
		L.RaiseError("%v", err)
	}
	L.Push(lua.LTrue)
	return 1
}

var backupOptions = optSpec{"server": optAny, "to": optString, "method": optString, "tool": optString}

// rep.backup{server=, to=, method="logical"|"physical", tool=} takes an
// image of server into the directory to (new, or empty) and returns its
// manifest as a plain table: image, method, server, address, flavor,
// version, tool, position (a position value), gtid (a GTID value),
// created (RFC 3339), seconds, payload_size, sha256. tool is the path of
// mariadb-dump/mysqldump (logical) or mariadb-backup/xtrabackup
// (physical) when not the one on PATH. A physical backup of a server
// whose deployment entry has an ssh machine runs the tool on that host
// (found on its PATH) through the machine and streams the copy here,
// where tool prepares it. Under -v, progress goes to stderr.
// A dry run does not take it (the dump holds FLUSH TABLES WITH READ LOCK
// for a moment, mariadb-backup its BACKUP STAGE locks, and the image
// fills a disk): it is recorded in the plan, and the table returned has
// image, method, server and dry_run = true only.
func (s *State) repBackup(L *lua.LState) int {
	o := checkOptions(L, 1, "backup", backupOptions)
	sv := optServer(L, o, "backup")
	to := requireString(L, o, "backup", "to")
	opts := backup.Options{Method: backup.Method(o.str("method")), Progress: s.progressWriter()}
	switch opts.Method {
	case "", backup.Logical:
		opts.Tools.Dump = o.str("tool")
	case backup.Physical:
		opts.Tools.Backup = o.str("tool")
		opts.Host = s.remoteMachine(L, sv)
	default:
		L.RaiseError("backup: option method: want %q or %q, got %q", backup.Logical, backup.Physical, opts.Method)
	}
	if sv.DryRun() {
		return s.planBackup(L, sv, to, opts.Method)
	}
	start := time.Now()
	m, err := backup.Backup(L.Context(), sv, to, opts)
	s.audit("backup", sv.String(), map[string]any{"image": to, "method": string(opts.Method),
		"duration_ms": time.Since(start).Milliseconds(), "error": errText(err)})
	if err != nil {
		return s.raiseBackup(L, "backup", sv, err)
	}
	L.Push(s.manifestTable(L, m))
	return 1
}

var restoreOptions = optSpec{"image": optString, "server": optAny, "stop": optFunction, "start": optFunction,
	"datadir": optString, "tool": optString}

// rep.restore{image=, server=, stop=, start=, datadir=, tool=} restores an
// image into server after verifying its checksums (tool: the mariadb/mysql
// client for a logical image, mariadb-backup/xtrabackup for a physical
// one, when not the one on PATH), and returns the
// manifest table plus old_datadir (physical: where the previous datadir
// went). Everything on the server is replaced, accounts included; its GTID
// state becomes the image's, so that db:change_source(primary) with GTID
// auto-positioning continues where the image ends.
//
// A logical image needs only a reachable server. A physical one replaces
// the datadir of a stopped server: stop and start are functions that stop
// and start it (returning once it is down / accepts connections), or,
// without them, the machine of the server's deployment entry is used.
// When that entry's machine is an ssh one, the datadir is reached through
// it (the image is streamed to the host); otherwise it is on this
// machine. In a dry run the image is verified and the server checked, and
// nothing is changed.
func (s *State) repRestore(L *lua.LState) int {
	o := checkOptions(L, 1, "restore", restoreOptions)
	sv := optServer(L, o, "restore")
	image := requireString(L, o, "restore", "image")
	target := backup.Target{Server: sv, DataDir: o.str("datadir")}
	opts := backup.RestoreOptions{Progress: s.progressWriter()}
	if m, err := backup.ReadManifest(image); err == nil && m.Method == backup.Physical {
		opts.Tools.Backup = o.str("tool")
		target.Host = s.remoteMachine(L, sv)
	} else {
		opts.Tools.Client = o.str("tool") // a bad image is Restore's to report
	}
	ctl, err := s.restoreController(L, sv, o)
	if err != nil {
		return s.raise(L, "restore", &server.Error{Op: "restore", Server: sv.String(), Message: err.Error(), Err: err})
	}
	target.Controller = ctl
	if sv.DryRun() {
		if _, err := backup.ReadManifest(image); err != nil {
			return s.planRestore(L, sv, image, err)
		}
	}
	start := time.Now()
	r, err := backup.Restore(L.Context(), image, target, opts)
	s.audit("restore", sv.String(), map[string]any{"image": image, "duration_ms": time.Since(start).Milliseconds(),
		"planned": r != nil && r.DryRun, "error": errText(err)})
	if errors.Is(err, backup.ErrNeedsController) {
		msg := fmt.Sprintf("%v: give { stop = function() ... end, start = function() ... end }, "+
			"or a machine in %s's deployment entry", backup.ErrNeedsController, sv.Name())
		return s.raise(L, "restore", &server.Error{Op: "restore", Server: sv.String(), Message: msg, Err: err})
	}
	if err != nil {
		return s.raiseBackup(L, "restore", sv, err)
	}
	if r.DryRun {
		sv.Plan(server.KindRestore, fmt.Sprintf("restore %s (%s image of %s, verified) into it", image,
			r.Manifest.Method, r.Manifest.Server))
	}
	t := s.manifestTable(L, r.Manifest)
	t.RawSetString("old_datadir", lua.LString(r.OldDataDir))
	t.RawSetString("dry_run", lua.LBool(r.DryRun))
	L.Push(t)
	return 1
}

// restoreController is the stop/start functions given, else the server's
// machine when its deployment entry has one, else nil (fine for a logical
// image; a physical one then fails with ErrNeedsController).
func (s *State) restoreController(L *lua.LState, sv *server.Server, o options) (backup.Controller, error) {
	stop, _ := o.value("stop").(*lua.LFunction)
	start, _ := o.value("start").(*lua.LFunction)
	switch {
	case stop != nil && start != nil:
		return &luaController{L: L, stop: stop, start: start}, nil
	case stop != nil || start != nil:
		return nil, fmt.Errorf("give both stop and start, or neither")
	}
	d := s.cfg.Deployment
	if d == nil {
		return nil, nil
	}
	entry, ok := d.Servers[sv.Config().Name]
	if !ok || entry.Machine == nil {
		return nil, nil
	}
	m, _ := s.machineOf(L, sv)
	// Its sessions end with the server: let them reconnect afterwards.
	return closingController{m, sv}, nil
}

// remoteMachine is the server's machine when its deployment entry puts it
// on another host (ssh), else nil: a physical backup or restore reaches
// the files of such a server through its machine, and those of any other
// on this computer.
func (s *State) remoteMachine(L *lua.LState, sv *server.Server) machine.Host {
	d := s.cfg.Deployment
	if d == nil {
		return nil
	}
	entry, ok := d.Servers[sv.Config().Name]
	if !ok || entry.Machine == nil || entry.Machine.SSH == "" {
		return nil
	}
	m, _ := s.realMachine(L, sv)
	return m
}

// closingController drops the server's connections when it stops, and
// reports its stop and start as waits, as db:stop() and db:start() do.
type closingController struct {
	machine.Machine
	sv *server.Server
}

func (c closingController) Stop(ctx context.Context) error {
	c.sv.Close()
	pw := c.sv.BeginWait("waiting for "+c.sv.Name()+" to stop", 0)
	defer pw.End()
	return c.Machine.Stop(ctx)
}

func (c closingController) Start(ctx context.Context) error {
	pw := c.sv.BeginWait("waiting for "+c.sv.Name()+" to start", 0)
	defer pw.End()
	return c.Machine.Start(ctx)
}

// luaController calls the script's stop and start functions. Restore
// calls them from the goroutine running the script, so using L is safe.
type luaController struct {
	L           *lua.LState
	stop, start *lua.LFunction
}

func (c *luaController) Stop(ctx context.Context) error  { return c.call("stop", c.stop) }
func (c *luaController) Start(ctx context.Context) error { return c.call("start", c.start) }

func (c *luaController) call(name string, fn *lua.LFunction) error {
	err := c.L.CallByParam(lua.P{Fn: fn, NRet: 0, Protect: true})
	if err == nil {
		return nil
	}
	msg := err.Error()
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		if t, ok := isErrorObject(c.L, ae.Object); ok {
			msg = formatErrorObject(t)
		} else {
			msg = ae.Object.String()
		}
	}
	return fmt.Errorf("%s function: %s", name, msg)
}

// raiseBackup raises a backup.Error as an error object whose server and op
// are the backup's, keeping the server's error code when a statement
// failed.
func (s *State) raiseBackup(L *lua.LState, op string, sv *server.Server, err error) int {
	e := &server.Error{Op: op, Server: sv.String(), Message: err.Error(), Err: err}
	var be *backup.Error
	if errors.As(err, &be) {
		e.Message = be.Err.Error()
	}
	var se *server.Error
	if errors.As(err, &se) && se.Code != 0 {
		e.Code, e.SQLState = se.Code, se.SQLState
		e.Message = strings.Replace(e.Message, fmt.Sprintf("Error %d (%s): ", se.Code, se.SQLState), "", 1)
	}
	return s.raise(L, op, e)
}

// manifestTable is a manifest as a plain table.
func (s *State) manifestTable(L *lua.LState, m *backup.Manifest) *lua.LTable {
	t := L.CreateTable(0, 14)
	for k, v := range map[string]string{"image": m.ImageDir, "method": string(m.Method), "server": m.Server,
		"address": m.Address, "flavor": m.Flavor, "version": m.Version, "tool": m.Tool, "sha256": m.SHA256,
		"created": m.Created.Format(time.RFC3339)} {
		t.RawSetString(k, lua.LString(v))
	}
	t.RawSetString("seconds", lua.LNumber(m.Seconds))
	t.RawSetString("payload_size", lua.LNumber(m.Size))
	if p, err := m.BinlogPosition(); err == nil {
		t.RawSetString("position", newValue(L, p, positionTypeName))
	}
	if g, err := m.GTIDSet(); err == nil {
		t.RawSetString("gtid", newValue(L, g, gtidTypeName))
	}
	return t
}

// progressWriter is stderr under -v, else nothing.
func (s *State) progressWriter() io.Writer {
	if s.cfg.Verbose {
		return s.cfg.Stderr
	}
	return nil
}

func optServer(L *lua.LState, o options, fn string) *server.Server {
	if ud, ok := o.value("server").(*lua.LUserData); ok {
		if sv, ok := ud.Value.(*server.Server); ok {
			return sv
		}
	}
	L.RaiseError("%s: option server: want a server object, got %s", fn, o.value("server").Type())
	return nil
}

func requireString(L *lua.LState, o options, fn, key string) string {
	v := o.str(key)
	if v == "" {
		L.RaiseError("%s: option %s is required", fn, key)
	}
	return v
}

func errText(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}

// planBackup records a backup a dry run does not take.
func (s *State) planBackup(L *lua.LState, sv *server.Server, to string, method backup.Method) int {
	if method == "" {
		method = backup.Logical
	}
	sv.Plan(server.KindBackup, fmt.Sprintf("%s backup into %s", method, to))
	t := L.CreateTable(0, 4)
	t.RawSetString("image", lua.LString(to))
	t.RawSetString("method", lua.LString(method))
	t.RawSetString("server", lua.LString(sv.Name()))
	t.RawSetString("dry_run", lua.LTrue)
	L.Push(t)
	return 1
}

// planRestore records a restore whose image a dry run cannot verify: it
// does not exist yet (a backup this dry run skipped) or is unreadable.
func (s *State) planRestore(L *lua.LState, sv *server.Server, image string, why error) int {
	sv.Plan(server.KindRestore, fmt.Sprintf("restore %s into it (image not verified: %v)", image, why))
	t := L.CreateTable(0, 3)
	t.RawSetString("image", lua.LString(image))
	t.RawSetString("server", lua.LString(sv.Name()))
	t.RawSetString("dry_run", lua.LTrue)
	L.Push(t)
	return 1
}
