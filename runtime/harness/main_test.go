package harness

import (
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// One template datadir for every sandbox of the package's tests.
func TestMain(m *testing.M) { sandboxtest.Main(m) }
