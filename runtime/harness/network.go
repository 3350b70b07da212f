package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// Proxy puts two proxies in front of every server of the sandbox: one
// for the tool, one for its replicas. It rewrites the deployment file so
// that each server's host and port are its tool proxy and its
// replication_host and replication_port its replication proxy (what the
// tool points replicas at), and points every replica at its source's
// replication proxy. Call it once, before any Cut and before
// WrongPassword.
func (f *Injector) Proxy(ctx context.Context) (err error) {
	f.mu.Lock()
	switch {
	case f.proxies != nil:
		f.mu.Unlock()
		return errors.New("proxy: the sandbox's servers are already behind proxies")
	case f.depText != nil:
		f.mu.Unlock()
		return errors.New("proxy: call it before WrongPassword, whose undo would put back the deployment without proxies")
	}
	f.mu.Unlock()
	pairs := map[string]*proxyPair{}
	defer func() {
		if err != nil {
			for _, p := range pairs {
				p.tool.Close()
				p.repl.Close()
			}
		}
	}()
	for _, in := range f.sb.Instances {
		p := &proxyPair{}
		if p.tool, err = StartProxy(in.Addr()); err != nil {
			return fmt.Errorf("proxy %s: %w", in.Name, err)
		}
		if p.repl, err = StartProxy(in.Addr()); err != nil {
			p.tool.Close()
			return fmt.Errorf("proxy %s: %w", in.Name, err)
		}
		pairs[in.Name] = p
	}
	if err := f.rewriteDeployment(pairs); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	f.mu.Lock()
	f.proxies = pairs
	f.mu.Unlock()
	to := map[int]int{}
	for _, in := range f.sb.Instances {
		to[in.Port] = pairs[in.Name].repl.Port()
	}
	// The proxies stay up even when a replica could not be repointed: the
	// deployment names them already.
	pairs = nil
	return f.repointAll(ctx, "proxy", to)
}

// Unproxy points every replica back at its source's real address and
// writes the deployment without the proxies, which keep running until
// Close. For a sandbox that outlives the test (kept for a look).
func (f *Injector) Unproxy(ctx context.Context) error {
	f.mu.Lock()
	pairs := f.proxies
	f.mu.Unlock()
	if pairs == nil {
		return errors.New("unproxy: Proxy was not called")
	}
	to := map[int]int{}
	for _, in := range f.sb.Instances {
		to[pairs[in.Name].repl.Port()] = in.Port
	}
	err := f.repointAll(ctx, "unproxy", to)
	b, rerr := os.ReadFile(f.sb.DeploymentPath)
	if rerr == nil {
		text := string(b)
		for _, in := range f.sb.Instances {
			p := pairs[in.Name]
			entry := regexp.MustCompile(`(?m)^(\s*` + regexp.QuoteMeta(in.Name) + ` = \{ host = "127\.0\.0\.1", port = )` +
				strconv.Itoa(p.tool.Port()) + `, replication_host = "127\.0\.0\.1", replication_port = ` + strconv.Itoa(p.repl.Port()) + `\b`)
			if !entry.MatchString(text) {
				// Rewritten since (WrongPassword): refuse rather than
				// leave a server behind its proxy unnoticed.
				rerr = fmt.Errorf("%s: no entry for %s behind its proxies", f.sb.DeploymentPath, in.Name)
				break
			}
			text = entry.ReplaceAllString(text, "${1}"+strconv.Itoa(in.Port))
		}
		if rerr == nil {
			rerr = writeFileAtomic(f.sb.DeploymentPath, []byte(text))
		}
	}
	if rerr != nil {
		err = errors.Join(err, fmt.Errorf("unproxy: deployment: %w", rerr))
	}
	return err
}

// rewriteDeployment gives each server of the deployment file its tool
// proxy as host and port and its replication proxy as replication_host
// and replication_port. The file is the sandbox's own (deploymentLua
// writes `NAME = { host = "127.0.0.1", port = N`): an entry it cannot
// find is an error, not a server left unproxied.
func (f *Injector) rewriteDeployment(pairs map[string]*proxyPair) error {
	b, err := os.ReadFile(f.sb.DeploymentPath)
	if err != nil {
		return err
	}
	text := string(b)
	for _, in := range f.sb.Instances {
		entry := regexp.MustCompile(`(?m)^(\s*` + regexp.QuoteMeta(in.Name) + ` = \{ host = "127\.0\.0\.1", port = )` + strconv.Itoa(in.Port) + `\b`)
		if !entry.MatchString(text) {
			return fmt.Errorf("%s: no entry for %s at port %d", f.sb.DeploymentPath, in.Name, in.Port)
		}
		p := pairs[in.Name]
		text = entry.ReplaceAllString(text, fmt.Sprintf(`${1}%d, replication_host = "127.0.0.1", replication_port = %d`,
			p.tool.Port(), p.repl.Port()))
	}
	return writeFileAtomic(f.sb.DeploymentPath, []byte(text))
}

// writeFileAtomic replaces path so that a concurrent reader (a watch
// loop reloading the deployment) never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// repointAll moves every running replica of the sandbox whose source is
// 127.0.0.1 at a port of to onto the port it maps to, one error per
// server.
func (f *Injector) repointAll(ctx context.Context, op string, to map[int]int) error {
	var errs []error
	for _, in := range f.sb.Instances {
		in, _ := f.instance(in.Name)
		if in.Pid == 0 {
			continue
		}
		if err := f.repoint(ctx, in, to); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", op, in.Name, err))
		}
	}
	return errors.Join(errs...)
}

// repoint changes only the source's port of one replica (CHANGE MASTER
// TO MASTER_PORT), keeping its GTID mode, account and TLS, and restarts
// the threads that ran (withThreadsStopped). MASTER_HEARTBEAT_PERIOD is
// given again because on MariaDB 10.11 a CHANGE MASTER without it puts
// the period back to its default (slave_net_timeout/2; see
// flavor.ChangeSourceOptions).
func (f *Injector) repoint(ctx context.Context, in sandbox.Instance, to map[int]int) error {
	db, err := f.connect(in)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.ReplicaStatus(ctx)
	if err != nil || st == nil {
		return err
	}
	port, ok := to[st.SourcePort]
	if !ok || st.SourceHost != "127.0.0.1" {
		return nil
	}
	change := flavor.ChangeSourceOptions{Port: port, Heartbeat: st.HeartbeatPeriod,
		ConnectRetry: time.Duration(st.ConnectRetry) * time.Second}
	if !st.AutoPosition {
		// A new port without coordinates would start from the source's
		// first binlog: go on from where the applier is.
		change.File, change.Pos = st.ExecPosition.File, st.ExecPosition.Pos
	}
	if err := withThreadsStopped(ctx, db, st, func() error { return db.ChangeSource(ctx, change) }); err != nil {
		return err
	}
	return nil
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// Proxies are the server's tool and replication proxies; nil before
// Proxy, or for a name the sandbox does not have.
func (f *Injector) Proxies(name string) (tool, replicas *Proxy) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.proxies[name]; p != nil {
		return p.tool, p.repl
	}
	return nil, nil
}

// Cut cuts the server's path from the tool ("tool": its tool proxy) or
// from its replicas ("replicas": its replication proxy), silently, as a
// partition: connections hang, nothing is refused. Proxy must have been
// called. Undo or Heal heals it.
func (f *Injector) Cut(name, from string) error {
	f.mu.Lock()
	pairs := f.proxies
	f.mu.Unlock()
	if pairs == nil {
		return fmt.Errorf("cut %s: the servers are not behind proxies (call Proxy first)", name)
	}
	p := pairs[name]
	if p == nil {
		return fmt.Errorf("cut %s: no server %q in the sandbox %s", name, name, f.sb.Dir)
	}
	var px *Proxy
	switch from {
	case FromTool:
		px = p.tool
	case FromReplicas:
		px = p.repl
	default:
		return fmt.Errorf("cut %s: from %q: want %q or %q", name, from, FromTool, FromReplicas)
	}
	px.Cut()
	f.push(undoEntry{key: "cut " + from + " " + name, fault: "cut from " + from, server: name,
		undo: func(context.Context) error { px.Heal(); return nil }})
	return nil
}

// Heal heals both of the server's paths.
func (f *Injector) Heal(name string) error {
	f.mu.Lock()
	pairs := f.proxies
	f.mu.Unlock()
	if pairs == nil {
		return fmt.Errorf("heal %s: the servers are not behind proxies (call Proxy first)", name)
	}
	p := pairs[name]
	if p == nil {
		return fmt.Errorf("heal %s: no server %q in the sandbox %s", name, name, f.sb.Dir)
	}
	p.tool.Heal()
	p.repl.Heal()
	f.drop("cut "+FromTool+" "+name, "cut "+FromReplicas+" "+name)
	return nil
}
