package tests

import (
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// TestMain shares one initialised datadir template among every sandbox
// the tests start, so each costs a copy instead of mariadb-install-db.
func TestMain(m *testing.M) { sandboxtest.Main(m) }
