package bindings

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/binlog"
	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/mycnf"
	"github.com/replicant-lua/replicant-lua/runtime/procedure"
	"github.com/replicant-lua/replicant-lua/runtime/roles"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// machineMethods control a server through the machine its deployment entry
// names: db:start(), db:stop(), db:restart(), db:config(), db:imbue(role).
func (s *State) machineMethods() map[string]lua.LGFunction {
	control := func(op string, fn func(machine.Machine, context.Context) error) lua.LGFunction {
		return func(L *lua.LState) int {
			sv := checkServer(L, 1)
			m, _ := s.machineOf(L, sv)
			if op != "start" && !sv.DryRun() {
				sv.Close() // its connections end with the server
			}
			// The machine knows its own bounds (a start may recover InnoDB
			// for minutes): the line shows the time only.
			pw := sv.BeginWait(fmt.Sprintf("waiting for %s to %s", sv.Name(), op), 0)
			err := fn(m, L.Context())
			pw.End()
			if err != nil {
				return s.raise(L, op, &server.Error{Op: op, Server: sv.String(), Message: err.Error(), Err: err})
			}
			if op != "stop" {
				s.renewLocks(L, sv)
			}
			return 0
		}
	}
	return map[string]lua.LGFunction{
		"start":        control("start", machine.Machine.Start),
		"stop":         control("stop", machine.Machine.Stop),
		"restart":      control("restart", machine.Machine.Restart),
		"fence":        s.serverFence,
		"config":       s.serverConfigFile,
		"imbue":        s.serverImbue,
		"unreplicated": s.serverUnreplicated,
	}
}

// db:fence() kills a server that may be hung, at once, through its
// machine, as watch fences a hung primary before a failover (a hung server
// does not answer SIGTERM): SIGKILL to its checked pid, here or over ssh;
// for systemd, kill --signal=SIGKILL then stop, so that the unit does not
// restart it. A dry run plans it; the audit log records it.
func (s *State) serverFence(L *lua.LState) int {
	sv := checkServer(L, 1)
	_, entry := s.realMachine(L, sv) // raises when it has none
	m, err := machine.New(*entry.Machine)
	if err != nil {
		L.RaiseError("%s: machine: %v", sv, err)
	}
	k, ok := m.(machine.Killer)
	if !ok {
		L.RaiseError("fence: %s: machine %s cannot kill its server", sv, m)
	}
	kill := k.Kill
	planned := sv.DryRun()
	if planned {
		kill = func(context.Context) error {
			sv.Plan(server.KindMachine, "fence: kill (through "+m.String()+")")
			return nil
		}
	} else {
		sv.Close() // its connections end with the server
	}
	if s.auditor != nil {
		a := auditMachine{m: m, sv: sv, audit: s.auditor, planned: planned}
		plain := kill
		kill = func(ctx context.Context) error { return a.action(ctx, "fence", plain) }
	}
	if err := kill(L.Context()); err != nil {
		return s.raise(L, "fence", &server.Error{Op: "fence", Server: sv.String(), Message: err.Error(), Err: err})
	}
	return 0
}

// machineOf is the machine of a deployment server, built once per run
// with readiness checked by connecting to the server. In a dry run it
// reads files for real and records every action and write in the plan.
func (s *State) machineOf(L *lua.LState, sv *server.Server) (machine.Machine, deploy.Server) {
	m, entry := s.realMachine(L, sv)
	planned := sv.DryRun()
	if planned {
		m = planMachine{m: m, sv: sv}
	}
	if s.auditor != nil {
		m = auditMachine{m: m, sv: sv, audit: s.auditor, planned: planned}
	}
	return m, entry
}

// auditMachine tells the audit log of every start, stop, restart and file
// written through a server's machine, done or, in a dry run, planned (and
// then of the commands a dry run does not run, too).
type auditMachine struct {
	m       machine.Machine
	sv      *server.Server
	audit   *procedure.Audit
	planned bool
}

func (a auditMachine) String() string { return a.m.String() }

func (a auditMachine) action(ctx context.Context, name string, fn func(context.Context) error) error {
	start := time.Now()
	err := fn(ctx)
	a.audit.Machine(procedure.MachineAction{Server: a.sv.String(), Machine: a.m.String(), Action: name,
		Planned: a.planned, Start: start, Err: err})
	return err
}

func (a auditMachine) Start(ctx context.Context) error { return a.action(ctx, "start", a.m.Start) }
func (a auditMachine) Stop(ctx context.Context) error  { return a.action(ctx, "stop", a.m.Stop) }
func (a auditMachine) Restart(ctx context.Context) error {
	return a.action(ctx, "restart", a.m.Restart)
}

func (a auditMachine) Running(ctx context.Context) (bool, error) { return a.m.Running(ctx) }

func (a auditMachine) ReadFile(ctx context.Context, path string) ([]byte, error) {
	return a.m.ReadFile(ctx, path)
}

// WriteFile reads the file first, so that the log has each option's
// value before and after.
func (a auditMachine) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	before, err := a.m.ReadFile(ctx, path)
	if err != nil {
		before = nil // a new file, or one we cannot read: every option is new
	}
	start := time.Now()
	err = a.m.WriteFile(ctx, path, data, mode)
	a.audit.FileWrite(procedure.FileWrite{Server: a.sv.String(), Machine: a.m.String(), Path: path,
		Before: before, After: data, Planned: a.planned, Start: start, Err: err})
	return err
}

func (a auditMachine) Run(ctx context.Context, argv []string) ([]byte, error) {
	a.planRun(argv)
	return a.m.Run(ctx, argv)
}

func (a auditMachine) RunStream(ctx context.Context, argv []string, stdin io.Reader, stdout io.Writer) error {
	a.planRun(argv)
	return a.m.RunStream(ctx, argv, stdin, stdout)
}

// planRun records a command a dry run does not run. In a real run the
// commands are a backup's or a restore's copies, and those report
// themselves ("backup", "restore").
func (a auditMachine) planRun(argv []string) {
	if a.planned {
		a.audit.Machine(procedure.MachineAction{Server: a.sv.String(), Machine: a.m.String(), Action: "run",
			Command: argv, Planned: true, Start: time.Now()})
	}
}

// realMachine is machineOf without the dry run's recording, for backup
// and restore, which stop before any change in a dry run themselves.
func (s *State) realMachine(L *lua.LState, sv *server.Server) (machine.Machine, deploy.Server) {
	var entry deploy.Server
	if d := s.cfg.Deployment; d != nil {
		entry = d.Servers[sv.Config().Name]
	}
	if m, ok := s.reg.machines[sv]; ok {
		return m, entry
	}
	if entry.Machine == nil {
		s.raise(L, "machine", &noMachineError{fmt.Sprintf("%s: no machine to start, stop or reach its files: "+
			"add machine = { ... } to its deployment entry", sv)})
	}
	spec := *entry.Machine
	spec.Ready = func(ctx context.Context) error { return sv.Ping(ctx) }
	m, err := machine.New(spec)
	if err != nil {
		L.RaiseError("%s: machine: %v", sv, err)
	}
	s.reg.machines[sv] = m
	return m, entry
}

const configTypeName = "replicant.config"

// optionFile is the object db:config() returns.
type optionFile struct {
	file    *mycnf.File
	path    string
	section string
	host    machine.Host
}

// db:config() → the server's option file, editable: get, set, set_flag,
// remove, save, text. Names and section: cfg:get("server-id") reads the
// server's own group (mysqld); cfg:get("client", "port") another.
func (s *State) serverConfigFile(L *lua.LState) int {
	sv := checkServer(L, 1)
	m, entry := s.machineOf(L, sv)
	if entry.OptionFile == "" {
		s.raise(L, "config", &noMachineError{fmt.Sprintf("%s: no option file known: set option_file or "+
			"machine.defaults_file in the deployment", sv)})
	}
	data, err := m.ReadFile(L.Context(), entry.OptionFile)
	if err != nil {
		L.RaiseError("%s: config: %v", sv, err)
	}
	f, err := mycnf.Parse(bytes.NewReader(data), entry.OptionFile)
	if err != nil {
		L.RaiseError("%s: config: %v", sv, err)
	}
	L.Push(newValue(L, &optionFile{file: f, path: entry.OptionFile, section: "mysqld", host: m}, configTypeName))
	return 1
}

func checkConfig(L *lua.LState) *optionFile {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if c, ok := ud.Value.(*optionFile); ok {
			return c
		}
	}
	L.ArgError(1, "option file expected (call with a colon: cfg:get(...))")
	return nil
}

// sectionAndName reads (name) or (section, name) from argument 2 on.
func (c *optionFile) sectionAndName(L *lua.LState, args int) (string, string, int) {
	if L.GetTop()-1 > args {
		return L.CheckString(2), L.CheckString(3), 4
	}
	return c.section, L.CheckString(2), 3
}

func (s *State) registerConfigType() {
	L := s.L
	mt := L.NewTypeMetatable(configTypeName)
	mt.RawSetString("__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"get": func(L *lua.LState) int {
			c := checkConfig(L)
			section, name, _ := c.sectionAndName(L, 1)
			o, ok := c.file.Get(section, name)
			switch {
			case !ok:
				L.Push(lua.LNil)
			case !o.HasValue:
				L.Push(lua.LTrue)
			default:
				L.Push(lua.LString(o.Value))
			}
			return 1
		},
		"set": func(L *lua.LState) int {
			c := checkConfig(L)
			section, name, next := c.sectionAndName(L, 2)
			value := L.ToStringMeta(L.CheckAny(next)).String()
			if err := c.file.Set(section, name, value); err != nil {
				L.RaiseError("config set %s: %v", name, err)
			}
			return 0
		},
		"set_flag": func(L *lua.LState) int {
			c := checkConfig(L)
			section, name, _ := c.sectionAndName(L, 1)
			if err := c.file.SetFlag(section, name); err != nil {
				L.RaiseError("config set_flag %s: %v", name, err)
			}
			return 0
		},
		"remove": func(L *lua.LState) int {
			c := checkConfig(L)
			section, name, _ := c.sectionAndName(L, 1)
			L.Push(lua.LBool(c.file.Remove(section, name)))
			return 1
		},
		"save": func(L *lua.LState) int {
			c := checkConfig(L)
			if err := c.host.WriteFile(L.Context(), c.path, c.file.Bytes(), 0o644); err != nil {
				L.RaiseError("config save %s: %v", c.path, err)
			}
			return 0
		},
		"text": func(L *lua.LState) int { L.Push(lua.LString(checkConfig(L).file.Bytes())); return 1 },
		"path": func(L *lua.LState) int { L.Push(lua.LString(checkConfig(L).path)); return 1 },
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("option file " + checkConfig(L).path))
		return 1
	}))
}

const roleTypeName = "replicant.role"

var (
	masterOptions = optSpec{"repl_user": optTable, "server_id": optInt, "options": optTable}
	replicaRole   = optSpec{"master": optAny, "server_id": optInt, "options": optTable}
)

type roleSpec struct {
	role     roles.Role
	serverID int
}

// rep.roles: master{repl_user=, server_id=, options=}, final{master=},
// relay{master=}, vagabond(). options adds option-file settings.
func (s *State) newRolesTable() *lua.LTable {
	L := s.L
	mt := L.NewTypeMetatable(roleTypeName)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("role " + checkRole(L, 1).role.Name()))
		return 1
	}))
	t := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"master": func(L *lua.LState) int {
			o := checkOptions(L, 1, "roles.master", masterOptions)
			repl := s.replCredentials(L, o)
			return pushRole(L, roles.Master{Repl: repl, Extra: extraEdits(L, o)}, o.int("server_id"))
		},
		"final": func(L *lua.LState) int {
			o := checkOptions(L, 1, "roles.final", replicaRole)
			return pushRole(L, roles.Final{Source: s.roleSource(L, o), Repl: s.replCredentials(L, options{t: L.NewTable()}),
				Follow: s.followOptions(), Extra: extraEdits(L, o)}, o.int("server_id"))
		},
		"relay": func(L *lua.LState) int {
			o := checkOptions(L, 1, "roles.relay", replicaRole)
			return pushRole(L, roles.Relay{Source: s.roleSource(L, o), Repl: s.replCredentials(L, options{t: L.NewTable()}),
				Follow: s.followOptions(), Extra: extraEdits(L, o)}, o.int("server_id"))
		},
		"vagabond": func(L *lua.LState) int { return pushRole(L, roles.Vagabond{}, 0) },
	})
	return readOnly(L, t, "replicant.roles")
}

func pushRole(L *lua.LState, r roles.Role, serverID int) int {
	L.Push(newValue(L, &roleSpec{role: r, serverID: serverID}, roleTypeName))
	return 1
}

func checkRole(L *lua.LState, n int) *roleSpec {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if r, ok := ud.Value.(*roleSpec); ok {
			return r
		}
	}
	L.ArgError(n, "role expected (rep.roles.master{...}, final{...}, relay{...}, vagabond())")
	return nil
}

func (s *State) roleSource(L *lua.LState, o options) *server.Server {
	switch m := o.value("master").(type) {
	case lua.LString:
		sv, err := s.server(L, string(m), options{t: L.NewTable()})
		if err != nil {
			L.RaiseError("role: master: %v", err)
		}
		return sv
	case *lua.LUserData:
		if sv, ok := m.Value.(*server.Server); ok {
			return sv
		}
	}
	L.RaiseError("role: option master: want a server or its name")
	return nil
}

// followOptions are the deployment's settings for the replication
// connections roles set up: verified TLS when it has repl_tls.
func (s *State) followOptions() roles.FollowOptions {
	if d := s.cfg.Deployment; d != nil {
		return roles.FollowOptions{SSLCA: d.ReplCA, ConnectRetry: d.ReplConnectRetry, Heartbeat: d.ReplHeartbeat}
	}
	return roles.FollowOptions{}
}

func (s *State) replCredentials(L *lua.LState, o options) roles.Credentials {
	var c roles.Credentials
	if d := s.cfg.Deployment; d != nil {
		c.User, c.Password = d.ReplUser.Name, d.ReplUser.Password.Reveal()
	}
	if t, ok := o.value("repl_user").(*lua.LTable); ok {
		if err := validateOptions(t, userKeys); err != nil {
			L.RaiseError("roles.master: repl_user: %v", err)
		}
		c.User = options{t: t}.str("name")
		c.Password = lua.LVAsString(t.RawGetString("password"))
	}
	return c
}

func extraEdits(L *lua.LState, o options) []roles.Edit {
	t, ok := o.value("options").(*lua.LTable)
	if !ok {
		return nil
	}
	var edits []roles.Edit
	t.ForEach(func(k, v lua.LValue) {
		if b, isBool := v.(lua.LBool); isBool {
			edits = append(edits, roles.Edit{Name: k.String(), Flag: bool(b), Remove: !bool(b)})
			return
		}
		edits = append(edits, roles.Edit{Name: k.String(), Value: v.String()})
	})
	return edits
}

// db:imbue(role) → true when the option file changed and the server
// restarted to read it, false when only the SQL part ran.
func (s *State) serverImbue(L *lua.LState) int {
	sv := checkServer(L, 1)
	r := checkRole(L, 2)
	t := roles.Target{Server: sv, ServerID: r.serverID}
	if d := s.cfg.Deployment; d != nil {
		if entry, ok := d.Servers[sv.Config().Name]; ok {
			if entry.Machine != nil {
				t.Machine, _ = s.machineOf(L, sv)
			}
			t.OptionFile = entry.OptionFile
			if t.ServerID == 0 {
				t.ServerID = entry.ServerID
			}
		}
	}
	res, err := roles.Imbue(L.Context(), t, r.role)
	if err != nil {
		return s.raise(L, "imbue", &server.Error{Op: "imbue", Server: sv.String(), Message: err.Error(), Err: err})
	}
	s.audit("imbue", sv.String(), map[string]any{"role": r.role.Name(), "restarted": strconv.FormatBool(res.Restarted)})
	L.Push(lua.LBool(res.Restarted))
	return 1
}

// dead:unreplicated(gtids) → {text=, count=, first=, last=, files={...}},
// or nil and why: the transactions in a stopped server's binary log that
// gtids (a GTID set value: the new primary's gtid_executed) lacks, read
// from the log files through the server's machine. The log's location is
// the option file's datadir and log-bin.
func (s *State) serverUnreplicated(L *lua.LState) int {
	sv := checkServer(L, 1)
	have := checkGTID(L, 2)
	fail := func(why string) int {
		L.Push(lua.LNil)
		L.Push(lua.LString(why))
		return 2
	}
	if d := s.cfg.Deployment; d == nil || d.Servers[sv.Config().Name].Machine == nil {
		if _, ok := s.reg.machines[sv]; !ok {
			return fail(sv.String() + ": no machine to read its binary log through")
		}
	}
	m, entry := s.realMachine(L, sv)
	if entry.OptionFile == "" {
		return fail(sv.String() + ": no option file known")
	}
	data, err := m.ReadFile(L.Context(), entry.OptionFile)
	if err != nil {
		return fail(fmt.Sprintf("%s: option file: %v", sv, err))
	}
	f, err := mycnf.Parse(bytes.NewReader(data), entry.OptionFile)
	if err != nil {
		return fail(fmt.Sprintf("%s: option file: %v", sv, err))
	}
	datadir, _ := f.Get("mysqld", "datadir")
	logBin, _ := f.Get("mysqld", "log-bin")
	if datadir.Value == "" || logBin.Value == "" {
		return fail(fmt.Sprintf("%s: the option file names no datadir or no log-bin base name", sv))
	}
	u, err := binlog.UnreplicatedInFiles(L.Context(), m, datadir.Value, logBin.Value, have)
	if err != nil {
		return fail(fmt.Sprintf("%s: %v", sv, err))
	}
	t := L.NewTable()
	t.RawSetString("text", lua.LString(u.Text(sv.Name())))
	t.RawSetString("count", lua.LNumber(len(u.GTIDs)))
	if len(u.GTIDs) > 0 {
		t.RawSetString("first", lua.LString(u.GTIDs[0]))
		t.RawSetString("last", lua.LString(u.GTIDs[len(u.GTIDs)-1]))
	}
	t.RawSetString("files", stringList(L, u.Files))
	L.Push(t)
	return 1
}
