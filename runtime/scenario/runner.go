package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/harness"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// Runner runs scenarios, each against a fresh sandbox of its own.
type Runner struct {
	// Binary is the replicant-lua that runs the playbooks and args.
	Binary string
	// Jobs is how many scenarios run at once (1 when 0).
	Jobs int
	// Keep leaves a failed scenario's sandbox running, and says how to
	// reach it and stop it.
	Keep bool
	// Dir holds the sandboxes ("" : a temporary folder, removed after).
	Dir string
	// Progress receives a line per scenario as it ends; nil for none.
	Progress io.Writer
	// Template is a prepared datadir (sandbox.PrepareTemplate) the
	// sandboxes copy; "" makes one for the run.
	Template string
	// TestFile runs a Lua test file (the bindings do it; this package
	// cannot import them); nil refuses test files.
	TestFile func(ctx context.Context, f TestFile) TestFileResult
}

// TestFile is one Lua test file's run.
type TestFile struct {
	Path     string // the file
	Dir      string // its sandbox and temporary files go there
	Template string // the datadir sandboxes copy
	Binary   string // the replicant-lua its t.run and t.watch start
	Keep     bool   // leave the sandbox running if it fails
}

// TestFileResult is what a test file's run found: its failures (the
// first error, and any secret seen in an output) and, when kept, the
// sandbox left running.
type TestFileResult struct {
	Failures []string
	Kept     string
}

// Result is one scenario's outcome.
type Result struct {
	Name     string        `json:"name"`
	Passed   bool          `json:"passed"`
	Failures []string      `json:"failures,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	// Kept is the sandbox left running (Runner.Keep, a failure).
	Kept string `json:"kept,omitempty"`
}

// Run runs the scenarios, Jobs at a time, and returns their results in
// the order given. A cancelled ctx (Ctrl-C) stops each at its next step
// and still stops its servers.
func (r *Runner) Run(ctx context.Context, scenarios []*Scenario) ([]Result, error) {
	dir := r.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "replicant-lua-test-")
		if err != nil {
			return nil, err
		}
		dir = d
		defer func() {
			if !r.Keep {
				os.RemoveAll(d)
			}
		}()
	}
	template := r.Template
	if template == "" {
		bin, err := sandbox.FindBinary("")
		if err != nil {
			return nil, err
		}
		template = filepath.Join(dir, "template")
		if err := sandbox.PrepareTemplate(ctx, bin, template); err != nil {
			return nil, err
		}
	}
	jobs := max(r.Jobs, 1)
	results := make([]Result, len(scenarios))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, s := range scenarios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res := r.runOne(ctx, s, filepath.Join(dir, s.Name), template)
			results[i] = res
			if r.Progress != nil {
				mu.Lock()
				writeProgress(r.Progress, res)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return results, nil
}

func writeProgress(w io.Writer, res Result) {
	status := "ok  "
	if !res.Passed {
		status = "FAIL"
	}
	fmt.Fprintf(w, "%s %s (%s)\n", status, res.Name, res.Duration.Round(100*time.Millisecond))
	for _, f := range res.Failures {
		fmt.Fprintf(w, "     %s\n", strings.ReplaceAll(strings.TrimRight(f, "\n"), "\n", "\n     "))
	}
	if res.Kept != "" {
		fmt.Fprintf(w, "     kept: replicant-lua -d %s/deployment.lua; stop it with: replicant-lua sandbox down --dir %s --remove\n",
			res.Kept, res.Kept)
	}
}

// run is one scenario's state while it runs.
type run struct {
	r   *Runner
	s   *Scenario
	sb  *sandbox.Sandbox
	env []string
	dep []string
	res *Result
	pws []string
	// faults are the fault file's, applied to sb; never undone: the
	// sandbox goes with the scenario.
	faults *harness.Injector
}

func (r *Runner) runOne(ctx context.Context, s *Scenario, dir, template string) (res Result) {
	start := time.Now()
	res.Name = s.Name
	defer func() {
		res.Duration = time.Since(start)
		res.Passed = len(res.Failures) == 0
	}()
	if s.File != "" {
		if r.TestFile == nil {
			res.Failures = []string{s.File + ": this runner cannot run Lua test files"}
			return res
		}
		out := r.TestFile(ctx, TestFile{Path: s.File, Dir: dir, Template: template, Binary: r.Binary, Keep: r.Keep})
		res.Failures, res.Kept = out.Failures, out.Kept
		return res
	}
	sb, err := sandbox.Up(ctx, sandbox.Options{Dir: dir, Servers: s.Servers, ServerOptions: s.Options,
		Template: template, WriteMachines: true})
	defer func() {
		if r.Keep && len(res.Failures) > 0 && sb != nil {
			res.Kept = dir
			return
		}
		// Not ctx, which may be what was cancelled: the servers must go.
		sandbox.Down(context.WithoutCancel(ctx), dir)
		sandbox.Remove(dir)
	}()
	if err != nil {
		res.Failures = append(res.Failures, "sandbox: "+err.Error())
		return res
	}
	x := &run{r: r, s: s, sb: sb, res: &res, dep: []string{"-d", sb.DeploymentPath, "--timeout", "2m"},
		faults: harness.New(sb)}
	for _, c := range []sandbox.Credential{sb.User, sb.ReplUser, sb.AppUser} {
		if pw, err := c.Password(); err == nil && pw != "" {
			x.pws = append(x.pws, pw)
		}
	}
	appPW, _ := sb.AppUser.Password()
	// A TMPDIR of its own: what a scenario's runs leave there (a clone's
	// image) is its alone, and goes with its sandbox.
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		x.fail("tmpdir: %v", err)
		return res
	}
	x.env = []string{"APP_PASSWORD=" + appPW, "TMPDIR=" + tmp}
	for _, in := range sb.Instances {
		x.env = append(x.env, strings.ToUpper(in.Name)+"_PID="+strconv.Itoa(in.Pid))
	}
	if s.Setup && !x.playbook(ctx, "setup.lua") {
		return res
	}
	for _, f := range s.Faults {
		if err := x.fault(ctx, f); err != nil {
			x.fail("fault %s: %v", strings.Join(f, " "), err)
			return res
		}
	}
	x.check(ctx, s.Args, s.Exit, s.Stdout, s.Stderr)
	if len(s.Again) > 0 {
		x.check(ctx, s.Again, 0, s.AgainStdout, s.AgainStderr)
	}
	if s.Final && len(res.Failures) == 0 {
		x.playbook(ctx, "final.lua")
	}
	return res
}

func (x *run) fail(format string, args ...any) {
	x.res.Failures = append(x.res.Failures, fmt.Sprintf(format, args...))
}

// exec runs the binary in the scenario's folder.
func (x *run) exec(ctx context.Context, args []string) (stdout, stderr string, code int, err error) {
	cmd := exec.CommandContext(ctx, x.r.Binary, append(append([]string{}, x.dep...), args...)...)
	cmd.Dir = x.s.Dir
	cmd.Env = append(os.Environ(), x.env...)
	cmd.Stdin = nil
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return out.String(), errOut.String(), ee.ExitCode(), nil
	}
	if err != nil {
		return out.String(), errOut.String(), -1, err
	}
	return out.String(), errOut.String(), 0, nil
}

func (x *run) playbook(ctx context.Context, name string) bool {
	stdout, stderr, code, err := x.exec(ctx, []string{"run", name})
	if err != nil || code != 0 {
		x.fail("%s: exit %d %v\nstdout:\n%s\nstderr:\n%s", name, code, errOrNil(err), stdout, stderr)
		return false
	}
	return true
}

func errOrNil(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

func (x *run) check(ctx context.Context, args []string, wantCode int, wantOut, wantErr []string) {
	stdout, stderr, code, err := x.exec(ctx, args)
	if err != nil {
		x.fail("%s: %v", strings.Join(args, " "), err)
		return
	}
	if code != wantCode {
		x.fail("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, stdout, stderr)
	}
	for _, w := range wantOut {
		if !strings.Contains(stdout, w) {
			x.fail("%s: stdout lacks %q:\n%s", strings.Join(args, " "), w, stdout)
		}
	}
	for _, w := range wantErr {
		if !strings.Contains(stderr, w) {
			x.fail("%s: stderr lacks %q:\n%s", strings.Join(args, " "), w, stderr)
		}
	}
	for _, pw := range x.pws {
		if strings.Contains(stdout, pw) || strings.Contains(stderr, pw) {
			x.fail("%s: a password of the sandbox appears in the output", strings.Join(args, " "))
		}
	}
}

func (x *run) fault(ctx context.Context, f []string) error {
	switch f[0] {
	case "kill-primary":
		return x.faults.Kill(ctx, x.sb.Primary().Name)
	case "wrong-password":
		return x.faults.WrongPassword(f[1])
	}
	return fmt.Errorf("unknown fault")
}

// Summary is the line that ends a run: "N passed, N failed".
func Summary(results []Result) (line string, failed int) {
	passed := 0
	for _, r := range results {
		if r.Passed {
			passed++
		} else {
			failed++
		}
	}
	return fmt.Sprintf("%d passed, %d failed", passed, failed), failed
}
