package harness

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// A reported step waits for the test's answer; a failed hook is said on
// the run's log; once the hooks are closed, steps go on without waiting.
func TestStepHooksHoldTheStepUntilAnswered(t *testing.T) {
	h, err := ListenSteps(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	report := StepHookClient(h.Path(), &log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	done := make(chan struct{})
	go func() { report(ctx, "failover", "promote db2"); close(done) }()
	call := <-h.Steps()
	if got := call.Step(); got != (Step{Procedure: "failover", Name: "promote db2"}) {
		t.Fatalf("step %+v", got)
	}
	select {
	case <-done:
		t.Fatal("the step went on before the hook answered")
	case <-time.After(100 * time.Millisecond):
	}
	call.Reply("t.kill: db1: no such server")
	<-done
	if !strings.Contains(log.String(), `step hook at "promote db2": t.kill: db1: no such server`) {
		t.Fatalf("log %q", log.String())
	}

	h.Close()
	log.Reset()
	report(ctx, "failover", "repoint db3 to db2") // returns: nobody listens
	if !strings.Contains(log.String(), "repoint db3 to db2") {
		t.Fatalf("log %q", log.String())
	}
}
