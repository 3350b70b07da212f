package harness

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// Proxy puts every server of a sandbox behind a tool proxy and a
// replication proxy; each cut is observed from both sides, then healed
// by Heal or Undo; Unproxy puts everything back.
func TestNetworkFaults(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	ctx := testCtx(t)
	f := New(sb)
	defer f.Close()
	if err := f.Cut("db1", FromTool); err == nil || !strings.Contains(err.Error(), "cut db1: ") {
		t.Errorf("a cut before Proxy: %v", err)
	}
	original, err := os.ReadFile(sb.DeploymentPath)
	if err != nil {
		t.Fatal(err)
	}
	db1, db2, db3 := direct(t, sb, "db1"), direct(t, sb, "db2"), direct(t, sb, "db3")
	heartbeat := status(t, db2).HeartbeatPeriod
	start := time.Now()
	if err := f.Proxy(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Proxy (3 servers, 2 replicas repointed): %s", time.Since(start).Round(time.Millisecond))
	if err := f.Proxy(ctx); err == nil {
		t.Errorf("a second Proxy: no error")
	}
	pairs := f.proxies
	dep, _ := os.ReadFile(sb.DeploymentPath)
	for _, in := range sb.Instances {
		want := fmt.Sprintf(`%s = { host = "127.0.0.1", port = %d, replication_host = "127.0.0.1", replication_port = %d`,
			in.Name, pairs[in.Name].tool.Port(), pairs[in.Name].repl.Port())
		if !strings.Contains(string(dep), want) {
			t.Errorf("the deployment lacks %q:\n%s", want, dep)
		}
	}
	for _, db := range []struct {
		name string
		st   func() (string, int, bool, time.Duration)
	}{{"db2", func() (string, int, bool, time.Duration) {
		st := status(t, db2)
		return st.SourceHost, st.SourcePort, st.IORunning && st.SQLRunning, st.HeartbeatPeriod
	}}, {"db3", func() (string, int, bool, time.Duration) {
		st := status(t, db3)
		return st.SourceHost, st.SourcePort, st.IORunning && st.SQLRunning, st.HeartbeatPeriod
	}}} {
		host, port, running, hb := db.st()
		if host != "127.0.0.1" || port != pairs["db1"].repl.Port() || !running || hb != heartbeat {
			t.Errorf("%s replicates from %s:%d (running %v, heartbeat %s); want db1's replication proxy %d, running, heartbeat %s",
				db.name, host, port, running, hb, pairs["db1"].repl.Port(), heartbeat)
		}
	}
	toolPort := pairs["db1"].tool.Port()
	if err := answers(t, sb, "db1", toolPort, 5*time.Second); err != nil {
		t.Fatalf("db1 through its tool proxy: %v", err)
	}

	t.Run("cut from the tool", func(t *testing.T) {
		if err := f.Cut("db1", FromTool); err != nil {
			t.Fatal(err)
		}
		if err := answers(t, sb, "db1", toolPort, 500*time.Millisecond); err == nil {
			t.Errorf("db1 answered the tool through a cut path")
		}
		set := write(t, db1)
		if !arrives(t, db2, set, 10*time.Second) || !arrives(t, db3, set, 10*time.Second) {
			t.Errorf("a write on db1 did not reach the replicas while only the tool's path was cut")
		}
		if err := f.Undo(ctx); err != nil {
			t.Fatal(err)
		}
		if err := answers(t, sb, "db1", toolPort, 5*time.Second); err != nil {
			t.Errorf("after Undo db1 does not answer the tool: %v", err)
		}
	})

	t.Run("cut from the replicas", func(t *testing.T) {
		tool := dial(t, sb, "db1", toolPort, 5*time.Second)
		for _, heal := range []string{"Heal", "Undo"} {
			if err := f.Cut("db1", FromReplicas); err != nil {
				t.Fatal(err)
			}
			set := write(t, tool) // through the tool's proxy: db1 still answers it
			if arrives(t, db2, set, time.Second) || arrives(t, db3, set, 10*time.Millisecond) {
				t.Fatalf("a write on db1 reached a replica through a cut path")
			}
			if st := status(t, db2); !st.IORunning {
				t.Errorf("during a silent cut db2's receiver says %q; want Yes (nothing refused it)", st.IOThread)
			}
			if heal == "Heal" {
				err = f.Heal("db1")
			} else {
				err = f.Undo(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !arrives(t, db2, set, 10*time.Second) || !arrives(t, db3, set, 10*time.Second) {
				t.Errorf("after %s the write did not reach the replicas", heal)
			}
		}
	})

	t.Run("wrong_password behind the proxies", func(t *testing.T) {
		proxied, _ := os.ReadFile(sb.DeploymentPath)
		if err := f.WrongPassword("db3"); err != nil {
			t.Fatal(err)
		}
		dep, _ := os.ReadFile(sb.DeploymentPath)
		want := fmt.Sprintf(`db3 = { host = "127.0.0.1", user = { name = "replicant", password = "not-the-password" }, port = %d, replication_host`,
			pairs["db3"].tool.Port())
		if !strings.Contains(string(dep), want) {
			t.Errorf("the deployment lacks %q:\n%s", want, dep)
		}
		if err := f.Undo(ctx); err != nil {
			t.Fatal(err)
		}
		if dep, _ := os.ReadFile(sb.DeploymentPath); string(dep) != string(proxied) {
			t.Errorf("after Undo the deployment is:\n%s\nwant the proxied one:\n%s", dep, proxied)
		}
	})

	t.Run("unproxy", func(t *testing.T) {
		if err := f.Unproxy(ctx); err != nil {
			t.Fatal(err)
		}
		in1, _ := sb.Instance("db1")
		for _, db := range []string{"db2", "db3"} {
			st := status(t, direct(t, sb, db))
			if st.SourcePort != in1.Port || !st.IORunning || st.HeartbeatPeriod != heartbeat {
				t.Errorf("%s after Unproxy: source port %d (want %d), io %v, heartbeat %s", db, st.SourcePort, in1.Port, st.IORunning, st.HeartbeatPeriod)
			}
		}
		if dep, _ := os.ReadFile(sb.DeploymentPath); string(dep) != string(original) {
			t.Errorf("after Unproxy the deployment is:\n%s\nwant:\n%s", dep, original)
		}
		f.Close()
		set := write(t, db1)
		if !arrives(t, db2, set, 10*time.Second) {
			t.Errorf("with the proxies closed db2 no longer replicates")
		}
	})
}
