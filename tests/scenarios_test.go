package tests

import (
	"context"
	"os"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/scenario"
)

// The project's hostile scenarios (runtime/scenario/builtin) through the
// runner that `replicant-lua test` uses: one runner, not two. Each
// scenario is a subtest, reported from the runner's result.
func TestScenarios(t *testing.T) {
	if _, err := sandbox.FindBinary(""); err != nil {
		sandboxtest.Start(t, sandbox.Options{Servers: 1}) // fails under CI=true, skips elsewhere, with the install hint
	}
	scenarios, err := scenario.Find([]string{"../runtime/scenario/builtin"})
	if err != nil {
		t.Fatal(err)
	}
	r := &scenario.Runner{Binary: binary(t), Jobs: 2, Dir: t.TempDir()}
	if testing.Verbose() {
		r.Progress = os.Stdout
	}
	results, err := r.Run(context.Background(), scenarios)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		t.Run(res.Name, func(t *testing.T) {
			for _, f := range res.Failures {
				t.Error(f)
			}
		})
	}
	if len(results) != len(scenarios) || len(results) < 30 {
		t.Errorf("%d results for %d scenarios", len(results), len(scenarios))
	}
}
