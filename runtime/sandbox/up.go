package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
)

// ErrAlreadyRunning is returned by Up when the directory's sandbox runs.
var ErrAlreadyRunning = errors.New("sandbox already running")

// Up starts a sandbox and returns once every replica replicates from the
// primary and has applied all it has. On failure nothing it started is
// left running; the directory is kept, with the servers' logs, and
// `Remove` (or `sandbox down --remove`) deletes it.
//
//  1. check the options, the binary and the directory
//  2. generate passwords (and certificates), lay out the instances, record
//     the state
//  3. build db1's datadir (install-db or template) with the accounts, copy it
//  4. start every server and wait until it answers
//  5. point the replicas at the primary and wait until they caught up
//  6. write deployment.lua and the final state
func Up(ctx context.Context, opts Options) (_ *Sandbox, err error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s, err := claim(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := s.buildDatadirs(ctx, o); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			// Not the caller's context, which may be what was cancelled;
			// the machines bound each stop themselves.
			s.stopAll(context.WithoutCancel(ctx))
			_ = s.save()
		}
	}()
	if err := s.startAll(ctx, o); err != nil {
		return nil, err
	}
	if err := s.wire(ctx); err != nil {
		return nil, err
	}
	if err := s.waitReplicating(ctx, o.Timeout); err != nil {
		return nil, err
	}
	if err := writeDeployment(s, o.WriteMachines); err != nil {
		return nil, err
	}
	return s, s.save()
}

var userName = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)

func (opts Options) withDefaults() (Options, error) {
	o := opts
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return o, err
	}
	o.Dir = abs
	// These would need quoting in my.cnf; no sandbox needs them.
	if strings.ContainsAny(o.Dir, "#'\"\\\n\r") {
		return o, fmt.Errorf("sandbox: directory %q: contains a character an option file cannot hold (#, quotes, backslash, newline)", o.Dir)
	}
	if o.Servers == 0 {
		o.Servers = DefaultServers
	}
	if o.Servers < 1 || o.Servers > 64 {
		return o, fmt.Errorf("sandbox: %d servers: want 1 to 64", o.Servers)
	}
	if o.BasePort != 0 && (o.BasePort < 1024 || o.BasePort+o.Servers-1 > 65535) {
		return o, fmt.Errorf("sandbox: base port %d: want 0 (pick free ports) or 1024..%d", o.BasePort, 65536-o.Servers)
	}
	if o.User == "" {
		o.User = DefaultUser
	}
	if o.ReplUser == "" {
		o.ReplUser = DefaultReplUser
	}
	seen := map[string]bool{"root": true}
	for _, u := range []string{o.User, o.ReplUser, AppUser} {
		if !userName.MatchString(u) || seen[u] {
			return o, fmt.Errorf("sandbox: user name %q: want 1-32 letters, digits or _, distinct from root, %s and each other", u, AppUser)
		}
		seen[u] = true
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o, nil
}

// claim checks the binary and the directory, generates the passwords and
// records the initial state, so that even a sandbox that fails half-way is
// recognisable (and removable) as one.
func claim(ctx context.Context, o Options) (*Sandbox, error) {
	binary, err := FindBinary(o.Binary)
	if err != nil {
		return nil, err
	}
	if _, err := serverFlavor(ctx, binary); err != nil {
		return nil, err
	}
	if err := checkDir(ctx, o.Dir); err != nil {
		return nil, err
	}
	if o.BasePort != 0 {
		for p := o.BasePort; p < o.BasePort+o.Servers; p++ {
			if err := checkPortFree(p); err != nil {
				return nil, err
			}
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	s := &Sandbox{
		Dir:            o.Dir,
		DeploymentPath: filepath.Join(o.Dir, DeploymentFile),
		Binary:         binary,
		User:           Credential{Name: o.User},
		ReplUser:       Credential{Name: o.ReplUser},
		AppUser:        Credential{Name: AppUser},
	}
	if err := writeSecrets(o.Dir, &s.User, &s.ReplUser, &s.AppUser); err != nil {
		return nil, err
	}
	if o.TLS {
		files, err := GenerateTLS(filepath.Join(o.Dir, tlsDir))
		if err != nil {
			return nil, err
		}
		s.TLS = &files
	}
	if err := layout(s, o); err != nil {
		return nil, err
	}
	if err := s.initMachines(o.Detach, o.Timeout); err != nil {
		return nil, err
	}
	return s, s.save()
}

// checkDir refuses a directory that holds a sandbox (running or not) or
// anything else: Up never overwrites data.
func checkDir(ctx context.Context, dir string) error {
	if old, err := Load(dir); err == nil {
		up, err := old.running(ctx)
		if len(up) > 0 {
			return fmt.Errorf("sandbox: %s: %w (%s pid %d); stop it with `replicant-lua sandbox down --dir %s`",
				dir, ErrAlreadyRunning, up[0].Name, up[0].Pid, dir)
		}
		if err != nil {
			return fmt.Errorf("sandbox: %s holds a sandbox that may be running: %w", dir, err)
		}
		return fmt.Errorf("sandbox: %s holds a stopped sandbox; delete it with `replicant-lua sandbox down --dir %s --remove`, or choose another directory", dir, dir)
	}
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) > 0 {
		return fmt.Errorf("sandbox: %s exists and is not empty; choose another directory", dir)
	}
	return nil
}

// buildDatadirs makes db1's datadir (install-db, or a copy of a prepared
// template), adds the sandbox's accounts to it while no server runs, and
// copies it to the other instances in parallel: one install-db and one
// bootstrap instead of N. cp -a of the 26 MB datadir takes 0.04–0.2 s.
func (s *Sandbox) buildDatadirs(ctx context.Context, o Options) error {
	for _, in := range s.Instances {
		// 0700: the socket inside lets root in without a password.
		if err := os.MkdirAll(filepath.Dir(in.DefaultsFile), 0o700); err != nil {
			return err
		}
		if err := os.Mkdir(in.TmpDir, 0o700); err != nil {
			return err
		}
	}
	seed := s.Instances[0]
	var err error
	if o.Template != "" {
		err = copyDir(ctx, o.Template, seed.DataDir)
	} else {
		err = PrepareTemplate(ctx, s.Binary, seed.DataDir)
	}
	if err != nil {
		return err
	}
	if err := addAccounts(ctx, s.Binary, seed.DataDir, seed.TmpDir, s); err != nil {
		return err
	}
	errs := make([]error, len(s.Instances))
	var wg sync.WaitGroup
	for i, in := range s.Instances[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = copyDir(ctx, seed.DataDir, in.DataDir)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startAll starts every server in parallel (≈0.5 s each to answer) and
// records each port as soon as its option file is written and each pid
// once the server answers. Down does not need them: it finds the servers
// from their option files and pid files, even if this process is killed.
func (s *Sandbox) startAll(ctx context.Context, o Options) error {
	primary := s.Primary().Name
	ms := make([]*machine.Process, len(s.Instances))
	for i, in := range s.Instances {
		var err error
		if ms[i], err = s.machine(in.Name); err != nil {
			return err
		}
	}
	errs := make([]error, len(s.Instances)+1)
	var mu sync.Mutex // guards s.Instances and sandbox.json
	var wg sync.WaitGroup
	for i, m := range ms {
		in := s.Instances[i] // before any goroutine writes it
		wg.Go(func() {
			errs[i] = launch(ctx, in, m, primary, s.TLS, o, func(in Instance) {
				mu.Lock()
				defer mu.Unlock()
				s.Instances[i] = in
				_ = s.save() // best effort; saved again below
			})
		})
	}
	wg.Wait()
	errs[len(s.Instances)] = s.save()
	return errors.Join(errs...)
}
