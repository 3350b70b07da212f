package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StepHookEnv names the unix socket a replicant-lua process reports its
// steps to, when set: `replicant-lua test` sets it for the runs of a test
// file, so that a fault lands at a named step of a procedure (on_step).
const StepHookEnv = "REPLICANT_STEP_HOOK"

// Step is what a run reports before each step: its procedure and the
// step's name ("failover", "promote db2").
type Step struct {
	Procedure string `json:"procedure"`
	Name      string `json:"step"`
}

// StepHooks is the test's side of the socket: each reported step waits
// until the test answers it, so that the fault lands before the step runs.
type StepHooks struct {
	ln    net.Listener
	path  string
	steps chan StepCall
	done  chan struct{}
}

// StepCall is one reported step, waiting for the test's answer.
type StepCall struct {
	step  Step
	reply chan<- string
}

// ListenSteps listens on a socket in dir (a short one: unix socket paths
// are limited to 107 bytes, so it falls back to the temporary folder).
func ListenSteps(dir string) (*StepHooks, error) {
	path := filepath.Join(dir, "steps.sock")
	if len(path) > 100 {
		d, err := os.MkdirTemp("", "rlt-")
		if err != nil {
			return nil, err
		}
		path = filepath.Join(d, "steps.sock")
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("step hooks: %w", err)
	}
	h := &StepHooks{ln: ln, path: path, steps: make(chan StepCall), done: make(chan struct{})}
	go h.accept()
	return h, nil
}

// Path is the socket's path, for StepHookEnv.
func (h *StepHooks) Path() string { return h.path }

// Steps delivers each reported step with the function that lets the run
// go on; a message given to it is printed by the run on its stderr (a
// hook that failed).
func (h *StepHooks) Steps() <-chan StepCall { return h.steps }

// Step is the reported step; Reply lets its run go on ("" : the hook
// went well).
func (c StepCall) Step() Step           { return c.step }
func (c StepCall) Reply(message string) { c.reply <- message }

// Close stops listening; runs that report a step afterwards go on
// without waiting.
func (h *StepHooks) Close() error {
	close(h.done)
	err := h.ln.Close()
	if strings.HasPrefix(filepath.Base(filepath.Dir(h.path)), "rlt-") {
		os.RemoveAll(filepath.Dir(h.path))
	}
	return err
}

func (h *StepHooks) accept() {
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		go h.serve(c)
	}
}

// serve reads one step line, hands it to the test, and writes its answer.
func (h *StepHooks) serve(c net.Conn) {
	defer c.Close()
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return
	}
	var st Step
	if err := json.Unmarshal(line, &st); err != nil {
		fmt.Fprintf(c, "step hook: %v\n", err)
		return
	}
	reply := make(chan string, 1)
	select {
	case h.steps <- StepCall{step: st, reply: reply}:
	case <-h.done:
		c.Write([]byte("\n"))
		return
	}
	select {
	case msg := <-reply:
		c.Write([]byte(strings.ReplaceAll(msg, "\n", " ") + "\n"))
	case <-h.done:
		c.Write([]byte("\n"))
	}
}

// StepHookClient is the run's side: before each step it reports the step
// on the socket at path and waits for the answer, within ctx. A hook that
// cannot be reached, or that failed, is said on log and the step runs:
// the test then fails on what it checks, not on a half-reported step.
func StepHookClient(path string, log io.Writer) func(ctx context.Context, procedure, step string) {
	return func(ctx context.Context, procedure, step string) {
		if err := reportStep(ctx, path, Step{Procedure: procedure, Name: step}); err != nil {
			fmt.Fprintf(log, "replicant-lua: step hook at %q: %v\n", step, err)
		}
	}
}

func reportStep(ctx context.Context, path string, st Step) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	b, _ := json.Marshal(st)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return err
	}
	answer, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the test closed the hook without an answer")
		}
		return err
	}
	if msg := strings.TrimSpace(answer); msg != "" {
		return errors.New(msg)
	}
	return nil
}
