package tests

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// outcome is the part of --json's document these tests read.
type outcome struct {
	OK       bool            `json:"ok"`
	ExitCode int             `json:"exit_code"`
	Result   json.RawMessage `json:"result"`
	Error    *struct {
		Message string         `json:"message"`
		Fields  map[string]any `json:"fields"`
	} `json:"error"`
	Steps []struct{ Name, State string } `json:"steps"`
	Plan  []struct{ Server, SQL string } `json:"plan"`
}

// runJSON runs the binary with --json and decodes stdout, which must be
// the JSON document and nothing else.
func runJSON(t *testing.T, args ...string) (outcome, result) {
	t.Helper()
	r := run(t, "", nil, append([]string{"--json"}, args...)...)
	var o outcome
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&o); err != nil || dec.More() {
		t.Fatalf("%v: stdout is not one JSON document (%v):\n%s\nstderr:\n%s", args, err, r.stdout, r.stderr)
	}
	if o.ExitCode != r.code || o.OK != (r.code == 0) {
		t.Errorf("%v: document says exit %d ok=%v, process exited %d", args, o.ExitCode, o.OK, r.code)
	}
	return o, r
}

// run status --json gives the topology as data; the drawing goes to stderr.
func TestJSONStatus(t *testing.T) {
	sb, _ := topoSandbox(t)
	o, r := runJSON(t, "-d", sb.DeploymentPath, "run", "status")
	var topo struct {
		Primary  string
		Problems []any
		Nodes    []map[string]any
	}
	if err := json.Unmarshal(o.Result, &topo); err != nil {
		t.Fatalf("result: %v\n%s", err, o.Result)
	}
	if !o.OK || topo.Primary != "db1" || len(topo.Problems) != 0 || len(topo.Nodes) != 3 {
		t.Fatalf("status: %s", r.stdout)
	}
	for i, n := range topo.Nodes {
		wantRole, wantSource := "replica", "db1"
		if n["name"] == "db1" {
			wantRole, wantSource = "primary", ""
		}
		source, _ := n["source"].(string)
		if n["role"] != wantRole || source != wantSource || n["read_only"] != (wantRole == "replica") ||
			n["gtid_executed"] == "" {
			t.Errorf("node %d: %v; want %s of %q", i, n, wantRole, wantSource)
		}
	}
	if replicas, _ := topo.Nodes[0]["replicas"].([]any); len(replicas) != 2 {
		t.Errorf("db1's replicas: %v", topo.Nodes[0]["replicas"])
	}
	if !strings.Contains(r.stderr, "├─ db2") {
		t.Errorf("the tree should go to stderr under --json:\n%s", r.stderr)
	}
	assertNoSecrets(t, sb, r.stdout, r.stderr)
}

// A dry-run switchover under --json lists the plan, with the replication
// password redacted, and changes nothing.
func TestJSONDryRunPlan(t *testing.T) {
	sb, svs := topoSandbox(t)
	o, r := runJSON(t, "-d", sb.DeploymentPath, "--dry-run", "run", "switchover", "--", "--to", "db2")
	if !o.OK || len(o.Plan) == 0 || len(o.Steps) == 0 {
		t.Fatalf("dry run: %s\nstderr:\n%s", r.stdout, r.stderr)
	}
	var fence, repoint bool
	for _, st := range o.Plan {
		fence = fence || (strings.HasPrefix(st.Server, "db1 ") && strings.HasSuffix(st.SQL, "SET GLOBAL read_only = ON"))
		repoint = repoint || (strings.HasPrefix(st.Server, "db3 ") && strings.Contains(st.SQL, "MASTER_PASSWORD = '<redacted>'"))
	}
	if !fence || !repoint {
		t.Errorf("plan %+v; want db1 made read-only and a redacted CHANGE MASTER for db3", o.Plan)
	}
	var res map[string]any
	if err := json.Unmarshal(o.Result, &res); err != nil || res["primary"] != "db1" || res["candidate"] != "db2" {
		t.Errorf("result %s (%v); want primary db1, candidate db2", o.Result, err)
	}
	if ro := variable(t, svs["db1"], "read_only"); ro != int64(0) {
		t.Errorf("db1 read_only = %v after a dry run", ro)
	}
	if rs, err := svs["db2"].ReplicaStatus(context.Background()); err != nil || rs == nil || !rs.SQLRunning {
		t.Errorf("db2 is no longer replicating after a dry run: %+v %v", rs, err)
	}
	assertNoSecrets(t, sb, r.stdout, r.stderr)
}

// A failure carries the error object's fields; a refused procedure its
// steps.
func TestJSONErrors(t *testing.T) {
	sb, _ := topoSandbox(t)
	o, r := runJSON(t, "-d", sb.DeploymentPath, "-e", `replicant.server("db2"):sql("SELEC 1")`)
	if o.OK || o.ExitCode != 1 || o.Error == nil || o.Error.Fields["code"] != float64(1064) ||
		o.Error.Fields["op"] != "sql" || !strings.HasPrefix(o.Error.Fields["server"].(string), "db2 ") ||
		o.Error.Fields["where"] != "(command line):1" {
		t.Errorf("SQL error: %s", r.stdout)
	}
	if !strings.Contains(r.stderr, "Error 1064") {
		t.Errorf("stderr should still carry the message: %s", r.stderr)
	}
	o, r = runJSON(t, "-d", sb.DeploymentPath, "run", "switchover", "--", "--to", "db9")
	if o.OK || o.Error == nil || !strings.Contains(o.Error.Message, `no server named "db9"`) {
		t.Errorf("unknown candidate: %s", r.stdout)
	}
	o, r = runJSON(t, "repl")
	if o.ExitCode != 2 || o.Error == nil {
		t.Errorf("--json repl: %s; want a usage error", r.stdout)
	}
}

// sandbox status --json (or the global --json) lists every server as an
// object; --json with another sandbox command is a usage error.
func TestJSONSandboxStatus(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	for _, args := range [][]string{{"sandbox", "status", "--json", "--dir", sb.Dir}, {"--json", "sandbox", "status", "--dir", sb.Dir}} {
		r := run(t, "", nil, args...)
		var sts []struct {
			Name, Role         string
			Running, Answering bool
			ReadOnly           bool `json:"read_only"`
			IORunning          bool `json:"io_running"`
			SQLRunning         bool `json:"sql_running"`
			Source             int  `json:"source_port"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &sts); err != nil || r.code != 0 || len(sts) != 2 {
			t.Fatalf("%v: exit %d, %v\n%s%s", args, r.code, err, r.stdout, r.stderr)
		}
		db1, db2 := sts[0], sts[1]
		if db1.Name != "db1" || db1.Role != "primary" || db1.ReadOnly || !db1.Running || !db1.Answering ||
			db2.Name != "db2" || db2.Role != "replica" || !db2.ReadOnly || !db2.IORunning || !db2.SQLRunning ||
			db2.Source != sb.Primary().Port {
			t.Errorf("%v: %+v", args, sts)
		}
	}
	if r := run(t, "", nil, "--json", "sandbox", "down", "--dir", sb.Dir); r.code != 2 || !strings.Contains(r.stderr, "--json is for sandbox status") {
		t.Errorf("--json sandbox down: exit %d: %s", r.code, r.stderr)
	}
}

// A deployment that does not load still gives the document, with exit 2.
func TestJSONBadDeployment(t *testing.T) {
	dep := filepath.Join(t.TempDir(), "bad.lua")
	if err := os.WriteFile(dep, []byte("return { servers = { db1 = { hots = 'x' } } }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, r := runJSON(t, "-d", dep, "-e", "print(1)")
	if o.ExitCode != 2 || o.Error == nil || !strings.Contains(o.Error.Message, "hots") {
		t.Errorf("bad deployment: %s", r.stdout)
	}
}
