package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/replicant-lua/replicant-lua/bindings"
	"github.com/replicant-lua/replicant-lua/runtime/deploy"
	"github.com/replicant-lua/replicant-lua/runtime/procedure"
	"github.com/replicant-lua/replicant-lua/runtime/watch"
)

const watchHelp = `usage: replicant-lua [-d DEPLOYMENT] watch [-d DEPLOYMENT|DIR...] [flags]

A -d that names a directory stands for its deployment files (*.lua, in
name order), each a cluster of its own.

Watches each deployment's cluster until SIGINT or SIGTERM: a discovery
every --interval, each verdict logged on stderr when it changes
(healthy, dead_primary, hung_primary, unreachable_primary,
no_writable_primary, no_primary, split_brain, dead_replica,
broken_replica). On dead_primary it runs the failover playbook; on
hung_primary it first stops the primary through its machine (SIGKILL),
and refuses without one unless --fence none. No second automatic
failover of a cluster within --block, until POST /clear (watch --clear sends it). A primary
failed over that comes back writable is made read-only again.

With --coordinator (or the deployment's coordinator key), several
watchers on several hosts campaign in etcd for each cluster: only the
leader acts, a standby takes over within the lease's TTL, and the last
failover (its block, whether it ended) is shared there. A watcher that
loses etcd's quorum does not act.

Flags:
`

// runWatch is `replicant-lua watch`.
func runWatch(ctx context.Context, g globals, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("watch", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		deployments []string
		playbook    string
		interval    time.Duration
		block       time.Duration
		hungAfter   time.Duration
		fence       string
		httpAddr    string
		tokenFile   string
		clear       bool
	)
	fs.StringArrayVarP(&deployments, "deployment", "d", nil, "a deployment `FILE` to watch, or a directory of them (*.lua, one cluster each); repeat for several")
	fs.StringVar(&playbook, "playbook", "", "the failover playbook `FILE` (default: the bundled failover); it gets the global incident")
	fs.DurationVar(&interval, "interval", watch.DefaultInterval, "time between two discoveries")
	fs.DurationVar(&block, "block", watch.DefaultBlock, "no second automatic failover of a cluster within this")
	fs.DurationVar(&hungAfter, "hung-after", 0, "how long the replicas must receive nothing from a primary that times out before it is hung (0: two heartbeat periods, at least 2s)")
	fs.StringVar(&fence, "fence", "machine", "how a hung primary is stopped before a failover: machine, or none (you fence it yourself)")
	fs.StringVar(&httpAddr, "http", "", "serve /healthz, /status, /metrics and POST /clear on `ADDR` (127.0.0.1:9105)")
	fs.StringVar(&g.audit, "audit", g.audit, "append each incident's run to the audit `FILE` (as the global --audit); an unfinished run found there holds failovers until cleared")
	fs.BoolVar(&clear, "clear", false, "ask the watch serving --http ADDR to lift its failover block (with --http-token-file), then exit")
	fs.StringVar(&tokenFile, "http-token-file", "", "the bearer token `FILE` POST /clear requires; needed to listen beyond loopback")
	fs.Usage = func() {
		fmt.Fprint(stdout, watchHelp)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "replicant-lua watch: %v (watch -h for help)\n", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "replicant-lua watch: unexpected argument %q (deployments are given with -d)\n", fs.Arg(0))
		return exitUsage
	}
	if clear {
		return clearRunning(httpAddr, tokenFile, stdout, stderr)
	}
	if g.deployment != "" {
		deployments = append([]string{g.deployment}, deployments...)
	}
	deployments, err := expandDeployments(deployments)
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua watch: %v\n", err)
		return exitUsage
	}
	switch {
	case len(deployments) == 0:
		fmt.Fprintln(stderr, "replicant-lua watch: no deployment: give one with -d FILE")
		return exitUsage
	case fence != "machine" && fence != "none":
		fmt.Fprintf(stderr, "replicant-lua watch: --fence %s: want machine or none\n", fence)
		return exitUsage
	case g.dryRun || g.json || len(g.eval) > 0:
		fmt.Fprintln(stderr, "replicant-lua watch: --dry-run, --json and -e are not for watch")
		return exitUsage
	case playbook != "" && !fileExists(playbook):
		fmt.Fprintf(stderr, "replicant-lua watch: --playbook %s: no such file\n", playbook)
		return exitUsage
	}
	token := ""
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "replicant-lua watch: --http-token-file: %v\n", err)
			return exitUsage
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			fmt.Fprintf(stderr, "replicant-lua watch: --http-token-file %s is empty\n", tokenFile)
			return exitUsage
		}
	}
	if httpAddr != "" && token == "" && !loopback(httpAddr) {
		fmt.Fprintf(stderr, "replicant-lua watch: --http %s is beyond loopback: give --http-token-file\n", httpAddr)
		return exitUsage
	}

	ctx, stop := cancelOnSignal(ctx, stderr)
	defer stop()
	var mu sync.Mutex // the log's lines come from several watchers
	logLine := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, "%s %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), line)
	}
	var audit io.Writer
	if g.audit != "" {
		f, err := os.OpenFile(g.audit, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "replicant-lua watch: --audit: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		audit = f
	}
	var coords coordinations
	defer coords.close()
	var watchers []*watch.Watcher
	metrics := watch.NewMetrics(func() []*watch.Watcher { return watchers })
	for _, path := range deployments {
		d, err := bindings.LoadDeployment(ctx, path, nil)
		if err != nil {
			fmt.Fprintln(stderr, "replicant-lua:", err)
			return exitUsage
		}
		wc := watchConfig(d, g, audit, logLine, playbook, interval, block, hungAfter, fence == "none", metrics)
		var held []procedure.Unfinished
		if g.audit != "" {
			held = unfinished(g.audit, d.Path)
			wc.OnClear = func() { // those runs were dealt with: the next start does not hold again
				for _, u := range held {
					json.NewEncoder(audit).Encode(procedure.Cleared(u.RunID))
				}
				held = nil
			}
		}
		co, err := coords.join(ctx, g, d, &wc, block, logLine)
		if err != nil {
			fmt.Fprintln(stderr, "replicant-lua watch:", err)
			return exitUsage
		}
		w, closeProbes, err := bindings.NewWatcher(wc)
		if err != nil {
			fmt.Fprintln(stderr, "replicant-lua:", err)
			return exitUsage
		}
		defer closeProbes()
		if co != nil {
			co.attach(w)
			defer co.close()
			go co.report(ctx)
		}
		watchers = append(watchers, w)
		if len(held) > 0 {
			var why []string
			for _, u := range held {
				why = append(why, u.String())
			}
			w.Hold(strings.Join(why, "; ") + "; check the cluster (run check), finish or undo by hand, then POST /clear")
		}
	}
	if httpAddr != "" {
		ln, err := net.Listen("tcp", httpAddr)
		if err != nil {
			fmt.Fprintf(stderr, "replicant-lua watch: --http: %v\n", err)
			return exitUsage
		}
		srv := &http.Server{Handler: watch.Handler(metrics, token), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		logLine(fmt.Sprintf("serving /healthz, /status, /metrics on http://%s", ln.Addr()))
	}
	logLine(fmt.Sprintf("watching %d cluster(s) every %s", len(watchers), interval))
	go coords.balance(ctx)
	var wg sync.WaitGroup
	for _, w := range watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Run(ctx)
		}()
	}
	wg.Wait()
	logLine(fmt.Sprintf("stopped (%v)", context.Cause(ctx)))
	return exitOK
}

func watchConfig(d *deploy.Deployment, g globals, audit io.Writer, log func(string), playbook string,
	interval, block, hungAfter time.Duration, fenceNone bool, m *watch.Metrics) bindings.WatchConfig {
	// The playbooks' output goes to the log (stderr), line by line.
	out := &lineWriter{log: func(s string) { log(d.Path + ": " + s) }}
	return bindings.WatchConfig{
		Run: bindings.Config{Deployment: d, Stdout: out, Stderr: out, Verbose: g.verbose, Audit: audit,
			ForceLock: g.forceLock, Command: os.Args, BeforeStep: stepHook(out)},
		Playbook: playbook, Interval: interval, Block: block, HungAfter: hungAfter, FenceNone: fenceNone,
		Log: log, OnLook: m.LookObserver(d.Path),
	}
}

// lineWriter hands each complete line written to it to log.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	log func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		w.log(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

// unfinished lists the runs on a deployment that the audit trail shows
// started and never ended (a watch or an operator's procedure killed
// halfway): watch holds its failovers then, since failing over again
// blindly could act on a half-changed cluster.
func unfinished(audit, deployment string) []procedure.Unfinished {
	f, err := os.Open(audit)
	if err != nil {
		return nil // a new audit file: nothing ran
	}
	defer f.Close()
	runs, _ := procedure.FindUnfinished(f, deployment)
	return runs
}

// expandDeployments replaces each directory among paths with the
// deployment files (*.lua) in it, sorted by name; a directory without
// one is an error, not a watch of nothing.
func expandDeployments(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() {
			out = append(out, p) // a file, or an error LoadDeployment reports
			continue
		}
		files, err := filepath.Glob(filepath.Join(p, "*.lua"))
		if err != nil {
			return nil, fmt.Errorf("-d %s: %w", p, err)
		}
		var found []string
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
				found = append(found, f)
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("-d %s: the directory holds no deployment file (*.lua)", p)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// loopback reports whether addr listens on a loopback address only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clearRunning is watch --clear: POST /clear to the watch serving addr,
// with the bearer token, and say what it answered.
func clearRunning(addr, tokenFile string, stdout, stderr io.Writer) int {
	if addr == "" || tokenFile == "" {
		fmt.Fprintln(stderr, "replicant-lua watch --clear: give the running watch's --http ADDR and its --http-token-file")
		return exitUsage
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil || strings.TrimSpace(string(b)) == "" {
		fmt.Fprintf(stderr, "replicant-lua watch --clear: --http-token-file %s: unreadable or empty (%v)\n", tokenFile, err)
		return exitUsage
	}
	req, err := http.NewRequest("POST", "http://"+addr+"/clear", nil)
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua watch --clear: --http %s: %v\n", addr, err)
		return exitUsage
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "replicant-lua watch --clear: %v\n", err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "replicant-lua watch --clear: %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
		return exitFailed
	}
	fmt.Fprintf(stdout, "watch at %s: %s\n", addr, strings.TrimSpace(string(body)))
	return exitOK
}
