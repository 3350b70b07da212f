package bindings

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/harness"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func TestProgressLine(t *testing.T) {
	var out harness.Output
	p := &progress{w: &out, after: time.Hour, every: time.Hour}
	pw := p.Begin("waiting for db2 to apply 0-1-1234", 30*time.Second).(*progressWait)
	pw.Update("812 transactions behind")
	pw.start = time.Now().Add(-3 * time.Second)
	pw.tick()
	pw.Update("")
	pw.timeout = 0
	pw.tick()
	pw.End()
	pw.tick() // a timer that fired as End ran prints nothing
	want := "waiting for db2 to apply 0-1-1234: 812 transactions behind, 3 s of 30 s\n" +
		"waiting for db2 to apply 0-1-1234: 3 s\n"
	if got := out.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}

	// A wait that ends before p.after prints nothing.
	out = harness.Output{}
	p.Begin("waiting for db3 to start", 0).End()
	if got := out.String(); got != "" {
		t.Fatalf("a short wait printed %q", got)
	}
	if newProgress(nil) != nil {
		t.Fatal("no writer must mean no Progress at all")
	}
}

// A replica whose receiver is stopped cannot apply what the primary
// wrote; started again after 3 s, it catches up. With progress on, the
// wait said what it waited for and how far it was; a wait that ends at
// once says nothing; without a terminal (Config.Progress nil), nothing.
func TestProgressOfLongWait(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	pw, err := sb.User.Password()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := sb.ServerConfig(sb.Instances[1])
	if err != nil {
		t.Fatal(err)
	}
	replica, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { replica.Close() })

	longWait := func(t *testing.T, progressTo *harness.Output, db string) string {
		var out harness.Output
		c := Config{Stdout: &out, Stderr: &out}
		if progressTo != nil {
			c.Progress = progressTo
		}
		s := New(context.Background(), c)
		defer s.Close()
		bindSandboxServers(t, s, sb, pw)
		if err := s.RunString(`
DB2:stop_replica { thread = "io" }
DB1:exec("CREATE DATABASE `+db+`")
DB1:exec("CREATE TABLE `+db+`.t (id INT PRIMARY KEY)")
DB1:exec("INSERT INTO `+db+`.t VALUES (1)")
DB1:exec("INSERT INTO `+db+`.t VALUES (2)")
`, "setup.lua"); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			time.Sleep(3 * time.Second) // the point: a wait longer than 2 s
			done <- replica.StartReplica(context.Background(), flavor.IOThread)
		}()
		err := s.RunString(`assert(DB2:wait_for(DB1:gtid_executed(), { timeout = "30s" }))`, "wait.lua")
		if serr := <-done; serr != nil {
			t.Fatal(serr)
		}
		if err != nil {
			t.Fatal(err)
		}
		if progressTo != nil {
			before := progressTo.String()
			if err := s.RunString(`assert(DB2:wait_for(DB1:gtid_executed(), { timeout = "30s" }))`, "quick.lua"); err != nil {
				t.Fatal(err)
			}
			if after := progressTo.String(); after != before {
				t.Errorf("a wait that ended at once printed %q", strings.TrimPrefix(after, before))
			}
		}
		return out.String()
	}

	t.Run("terminal", func(t *testing.T) {
		var progressOut harness.Output
		out := longWait(t, &progressOut, "p1")
		got := progressOut.String()
		if !regexp.MustCompile(`(?m)^waiting for db2 to apply 0-1-\d+: 4 transactions behind, \d+ s of 30 s$`).MatchString(got) {
			t.Errorf("progress: %q", got)
		}
		if out != "" {
			t.Errorf("stdout and stderr got %q", out)
		}
	})
	t.Run("not a terminal", func(t *testing.T) {
		if out := longWait(t, nil, "p2"); out != "" {
			t.Errorf("stdout and stderr got %q", out)
		}
	})
}
