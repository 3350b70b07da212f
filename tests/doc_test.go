package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yuin/gopher-lua/parse"
)

// doc lists the Lua API beside the procedures, shows one entry with its
// parameters and the fields of what it returns, and writes annotations.
func TestDocAPI(t *testing.T) {
	r := run(t, "", nil, "doc")
	for _, want := range []string{"\n  server:replica_status", "\n  topology:node", "\n  config:set_flag", "\n  rep.deployment",
		"\n  rep.version", "\n  errors", "\n  procedure-options"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doc lacks %q", want)
		}
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if len([]rune(line)) > 80 || strings.HasSuffix(line, "…") {
			t.Errorf("line too wide or cut: %q", line)
		}
	}
	r = run(t, "", nil, "doc", "db:replica_status")
	if r.code != 0 || !strings.Contains(r.stdout, "seconds_behind") || !strings.Contains(r.stdout, "db:replica_status() -> ReplicaStatus|nil") {
		t.Errorf("doc db:replica_status: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", nil, "doc", "server:change_source")
	for _, want := range []string{"connect_retry", "delay", "gtid"} {
		if !strings.Contains(r.stdout, "\n  "+want+" ") {
			t.Errorf("doc server:change_source lacks option %s:\n%s", want, r.stdout)
		}
	}
	r = run(t, "", nil, "doc", "procedure-options")
	for _, want := range []string{"on_step", "after_promote", "lock_wait", "expect_primary"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doc procedure-options lacks %s", want)
		}
	}
	r = run(t, "", nil, "doc", "--format", "luals")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "---@meta") {
		t.Fatalf("doc --format luals: exit %d: %s", r.code, r.stderr)
	}
	if _, err := parse.Parse(strings.NewReader(r.stdout), "replicant.d.lua"); err != nil {
		t.Errorf("annotations are not Lua: %v", err)
	}
	if r = run(t, "", nil, "doc", "--format", "html"); r.code != 2 {
		t.Errorf("doc --format html: exit %d", r.code)
	}
}

// types/replicant.d.lua is the generated file, shipped for editors
// without the binary: it must be what doc --format luals prints now.
func TestShippedAnnotationsAreCurrent(t *testing.T) {
	want := run(t, "", nil, "doc", "--format", "luals").stdout
	got, err := os.ReadFile(filepath.Join("..", "types", "replicant.d.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("types/replicant.d.lua is stale: run  go run ./cmd/replicant-lua doc --format luals > types/replicant.d.lua")
	}
}
