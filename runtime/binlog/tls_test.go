package binlog

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// The stream reader speaks TLS with the server's own settings: an account
// that may only log in over TLS reads the stream. Open also refuses that
// account in clear text, and a server certificate from another CA (the SQL
// session Open starts with refuses both first; the stream shares its
// settings).
func TestStreamOverTLS(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1, TLS: true})
	ctx := testContext(t)
	cfg, err := sb.ServerConfig(sb.Primary())
	if err != nil {
		t.Fatal(err)
	}
	admin, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	exec(t, ctx, admin,
		"CREATE USER tlsonly@'%' IDENTIFIED BY 'tls-only-pw' REQUIRE SSL",
		"GRANT REPLICATION SLAVE, BINLOG MONITOR, REPLICATION MASTER ADMIN, SLAVE MONITOR ON *.* TO tlsonly@'%'",
		"CREATE DATABASE over_tls")

	tlsOnly := cfg
	tlsOnly.User, tlsOnly.Password = "tlsonly", "tls-only-pw"
	sv, err := server.New(tlsOnly)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sv.Close() })
	var seen bool
	for _, ev := range readAll(t, ctx, sv, Options{Reader: ReaderStream}) {
		seen = seen || (ev.Type == "query" && ev.Query == "CREATE DATABASE over_tls")
	}
	if !seen {
		t.Error("the stream over TLS did not show CREATE DATABASE over_tls")
	}

	// In clear text the same account is refused by the server: so the read
	// above went over TLS.
	plain := tlsOnly
	plain.TLS = server.TLSConfig{}
	psv, err := server.New(plain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { psv.Close() })
	if _, err := Open(ctx, psv, Options{Reader: ReaderStream}); err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("a REQUIRE SSL account in clear text: %v; want access denied", err)
	}

	// Another CA: the server's certificate is not accepted.
	other := filepath.Join(t.TempDir(), "other")
	files, err := sandbox.GenerateTLS(other)
	if err != nil {
		t.Fatal(err)
	}
	wrong := tlsOnly
	wrong.TLS.CA = files.CA
	wsv, err := server.New(wrong)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wsv.Close() })
	if _, err := Open(ctx, wsv, Options{Reader: ReaderStream}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a server certificate from another CA: %v; want it refused", err)
	}
}
