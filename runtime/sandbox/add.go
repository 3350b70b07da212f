package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/roles"
)

// AddOptions are Add's.
type AddOptions struct {
	Servers int // how many; default 1
	// Empty leaves the new servers without replication (read-only, with
	// the accounts only): a target for clone.
	Empty bool
}

// Add starts new servers in the sandbox in dir, each with the next name
// (db4 after db3), the next free server_id, a fresh datadir with the
// sandbox's accounts and a free port; unless opts.Empty each replicates by
// GTID from the server that is the primary now (which a switchover may
// have changed). deployment.lua and sandbox.json list them afterwards. A
// server that fails to start is stopped again and not recorded.
func Add(ctx context.Context, dir string, opts AddOptions) ([]Instance, error) {
	if opts.Servers == 0 {
		opts.Servers = 1
	}
	s, err := Load(dir)
	if err != nil {
		return nil, err
	}
	if opts.Servers < 1 || len(s.Instances)+opts.Servers > 64 {
		return nil, fmt.Errorf("sandbox add: %d servers: a sandbox holds 1 to 64 (it has %d)", opts.Servers, len(s.Instances))
	}
	primary, err := s.currentPrimary(ctx)
	if err != nil && !opts.Empty {
		return nil, err
	}
	added := s.nextInstances(opts.Servers)
	for _, in := range added {
		started, err := s.addOne(ctx, in, primary.Name)
		if err != nil {
			return nil, err
		}
		s.Instances = append(s.Instances, started)
		if !opts.Empty {
			if err := s.follow(ctx, started, primary); err != nil {
				return nil, err
			}
		}
		if err := s.save(); err != nil {
			return nil, err
		}
	}
	machines := true
	if b, err := os.ReadFile(s.DeploymentPath); err == nil {
		machines = strings.Contains(string(b), "machine = {")
	}
	if err := writeDeployment(s, machines); err != nil {
		return nil, err
	}
	return s.Instances[len(s.Instances)-len(added):], s.save()
}

// currentPrimary is the instance that answers as the primary: writable
// and replicating from no one.
func (s *Sandbox) currentPrimary(ctx context.Context) (Instance, error) {
	pw, err := s.User.Password()
	if err != nil {
		return Instance{}, err
	}
	var found []Instance
	for _, in := range s.Instances {
		if st := s.instanceStatus(ctx, in, pw); st.Answering && st.Role == RolePrimary && !st.ReadOnly {
			found = append(found, in)
		}
	}
	if len(found) != 1 {
		return Instance{}, fmt.Errorf("sandbox add: %d servers answer as a writable primary, want 1 "+
			"(replicant-lua sandbox status; --empty adds a server without replication)", len(found))
	}
	return found[0], nil
}

// nextInstances lays out n new instances after the existing ones.
func (s *Sandbox) nextInstances(n int) []Instance {
	maxID, maxN := 0, 0
	for _, in := range s.Instances {
		maxID = max(maxID, in.ServerID)
		var k int
		if _, err := fmt.Sscanf(in.Name, "db%d", &k); err == nil {
			maxN = max(maxN, k)
		}
	}
	var out []Instance
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("db%d", maxN+i)
		idir := filepath.Join(s.Dir, name)
		in := Instance{Name: name, Socket: filepath.Join(idir, "mysqld.sock"), DataDir: filepath.Join(idir, "data"),
			TmpDir: filepath.Join(idir, "tmp"), DefaultsFile: filepath.Join(idir, "my.cnf"),
			ErrorLog: filepath.Join(idir, "error.log"), ServerID: maxID + i, Role: RoleReplica, Binary: s.Binary}
		if s.SocketDir != "" {
			in.Socket = filepath.Join(s.SocketDir, name+".sock")
		}
		out = append(out, in)
	}
	return out
}

// addOne builds in's datadir with the sandbox's accounts and starts it;
// it returns in with its port and pid.
func (s *Sandbox) addOne(ctx context.Context, in Instance, primary string) (Instance, error) {
	if len(in.Socket) > maxSocketPath {
		return in, fmt.Errorf("sandbox add: socket path %s is longer than %d characters", in.Socket, maxSocketPath)
	}
	if _, err := os.Stat(filepath.Dir(in.DefaultsFile)); err == nil {
		return in, fmt.Errorf("sandbox add: %s exists already", filepath.Dir(in.DefaultsFile))
	}
	if err := os.MkdirAll(filepath.Dir(in.DefaultsFile), 0o700); err != nil {
		return in, err
	}
	if err := os.Mkdir(in.TmpDir, 0o700); err != nil {
		return in, err
	}
	if err := PrepareTemplate(ctx, s.Binary, in.DataDir); err != nil {
		return in, err
	}
	if err := addAccounts(ctx, s.Binary, in.DataDir, in.TmpDir, s); err != nil {
		return in, err
	}
	m, err := newMachine(in, true, DefaultTimeout)
	if err != nil {
		return in, err
	}
	s.machines[in.Name] = m
	err = launch(ctx, in, m, primary, s.TLS, Options{Timeout: DefaultTimeout}, func(started Instance) { in = started })
	if err != nil {
		_ = m.Stop(context.WithoutCancel(ctx))
		return in, fmt.Errorf("sandbox add: %s: %w", in.Name, err)
	}
	return in, nil
}

// follow makes in a replica of primary by GTID, as up does, and waits
// until it has caught up.
func (s *Sandbox) follow(ctx context.Context, in, primary Instance) error {
	pw, err := s.ReplUser.Password()
	if err != nil {
		return err
	}
	src, err := s.tool(primary)
	if err != nil {
		return err
	}
	defer src.Close()
	db, err := s.tool(in)
	if err != nil {
		return err
	}
	defer db.Close()
	follow := roles.FollowOptions{ConnectRetry: connectRetry, Heartbeat: heartbeat}
	if s.TLS != nil {
		follow.SSLCA = s.TLS.CA
	}
	repl := roles.Credentials{User: s.ReplUser.Name, Password: pw}
	if err := roles.Follow(ctx, db, src, repl, follow); err != nil {
		return fmt.Errorf("sandbox add: %s: replicate from %s: %w", in.Name, primary.Name, err)
	}
	target, err := src.GTIDExecuted(ctx)
	if err != nil {
		return err
	}
	ok, err := db.WaitForGTID(ctx, target, DefaultTimeout)
	if err == nil && !ok {
		err = errors.New("did not catch up in time")
	}
	if err == nil {
		if ok, err = db.WaitReplicating(ctx, DefaultTimeout); err == nil && !ok {
			err = errors.New("its receiver did not connect in time")
		}
	}
	if err != nil {
		return fmt.Errorf("sandbox add: %s: catching up with %s: %w", in.Name, primary.Name, err)
	}
	return nil
}

// RemoveServer stops one server of the sandbox in dir and deletes its
// directory, and drops it from deployment.lua and sandbox.json. It refuses
// a server that others replicate from (the primary, a relay): repoint them
// first.
func RemoveServer(ctx context.Context, dir, name string) error {
	s, err := Load(dir)
	if err != nil {
		return err
	}
	idx := -1
	for i, in := range s.Instances {
		if in.Name == name {
			idx = i
		}
	}
	if idx < 0 {
		return fmt.Errorf("sandbox %s: no server %q", s.Dir, name)
	}
	in := s.Instances[idx]
	pw, err := s.User.Password()
	if err != nil {
		return err
	}
	for _, o := range s.Instances {
		if st := s.instanceStatus(ctx, o, pw); o.Name != name && st.Role == RoleReplica && st.SourcePort == in.Port {
			return fmt.Errorf("sandbox remove: %s replicates from %s; repoint it first (run relocate)", o.Name, name)
		}
	}
	if err := s.stop(ctx, in); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Dir(in.DefaultsFile)); err != nil {
		return err
	}
	s.Instances = append(s.Instances[:idx], s.Instances[idx+1:]...)
	delete(s.machines, name)
	machines := true
	if b, err := os.ReadFile(s.DeploymentPath); err == nil {
		machines = strings.Contains(string(b), "machine = {")
	}
	if err := writeDeployment(s, machines); err != nil {
		return err
	}
	return s.save()
}
