package sandbox_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/roles"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// sessionTLS is the TLS version and cipher of the session of sv, both ""
// on a plain connection.
func sessionTLS(ctx context.Context, sv *server.Server) (version, cipher string, err error) {
	res, err := sv.Query(ctx, "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")
	if err != nil {
		return "", "", err
	}
	for i := range res.Rows {
		row := res.Row(i)
		switch v, _ := row["Value"].(string); row["Variable_name"] {
		case "Ssl_version":
			version = v
		case "Ssl_cipher":
			cipher = v
		}
	}
	return version, cipher, nil
}

// dial connects with cfg and runs one statement, so that a refused
// handshake or login shows as the error.
func dial(ctx context.Context, t *testing.T, cfg server.Config) (*server.Server, error) {
	t.Helper()
	sv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() { sv.Close() })
	return sv, sv.Ping(ctx)
}

// wantEncrypted fails unless sv's session is TLS.
func wantEncrypted(ctx context.Context, t *testing.T, sv *server.Server) {
	t.Helper()
	version, cipher, err := sessionTLS(ctx, sv)
	if err != nil || version == "" || cipher == "" {
		t.Errorf("%s: Ssl_version %q, Ssl_cipher %q, %v; want a TLS session", sv, version, cipher, err)
	}
	t.Logf("%s: %s, %s", sv, version, cipher)
}

// A sandbox with TLS: the files are there with private keys private, the
// tool's connections (deployment config, Status from sandbox.json) are
// verified TLS, the replica replicates over TLS, and a restarted server
// offers TLS again.
func TestTLSSandbox(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2, TLS: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if sb.TLS == nil || filepath.Dir(sb.TLS.CA) != filepath.Join(sb.Dir, "tls") {
		t.Fatalf("TLS files %+v; want them in %s/tls", sb.TLS, sb.Dir)
	}
	for path, mode := range map[string]os.FileMode{sb.TLS.CA: 0o644, sb.TLS.ServerCert: 0o644,
		sb.TLS.ServerKey: 0o600, sb.TLS.ClientCert: 0o644, sb.TLS.ClientKey: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&^mode != 0 {
			t.Errorf("%s: %v, %v; want at most %v", path, fi.Mode(), err, mode)
		}
	}
	dep, err := os.ReadFile(sb.DeploymentPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := `tls       = { mode = "verify", ca = "` + sb.TLS.CA + `" }`; !strings.Contains(string(dep), want) {
		t.Errorf("deployment.lua lacks %s:\n%s", want, dep)
	}

	for _, in := range sb.Instances {
		cfg, err := sb.ServerConfig(in)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TLS.Mode != server.TLSVerify || cfg.TLS.CA != sb.TLS.CA {
			t.Errorf("%s: tls %+v; want verify with %s", in, cfg.TLS, sb.TLS.CA)
		}
		sv, err := dial(ctx, t, cfg)
		if err != nil {
			t.Fatalf("%s: verified TLS: %v", in, err)
		}
		wantEncrypted(ctx, t, sv)
		if lib, err := sv.Variable(ctx, "version_ssl_library"); err == nil {
			t.Logf("%s: version_ssl_library %v", in, lib)
		}
	}

	replica, err := sb.ServerConfig(sb.Replicas()[0])
	if err != nil {
		t.Fatal(err)
	}
	rs, err := dial(ctx, t, replica)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rs.Query(ctx, "SHOW SLAVE STATUS")
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("SHOW SLAVE STATUS: %v, %v", res, err)
	}
	st := res.Row(0)
	// With MASTER_SSL_VERIFY_SERVER_CERT = 1 a receiver never falls back
	// to plain text (TestTLSAgainstPlainServer), so a running one is
	// encrypted.
	if st["Master_SSL_Allowed"] != "Yes" || st["Master_SSL_CA_File"] != sb.TLS.CA ||
		st["Master_SSL_Verify_Server_Cert"] != "Yes" || st["Slave_IO_Running"] != "Yes" {
		t.Errorf("replica: Master_SSL_Allowed %v, Master_SSL_CA_File %v, Master_SSL_Verify_Server_Cert %v, Slave_IO_Running %v; want Yes, %s, Yes, Yes",
			st["Master_SSL_Allowed"], st["Master_SSL_CA_File"], st["Master_SSL_Verify_Server_Cert"], st["Slave_IO_Running"], sb.TLS.CA)
	}

	// Another process finds the TLS files in sandbox.json; Status uses them.
	loaded, err := sandbox.Load(sb.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.TLS == nil || *loaded.TLS != *sb.TLS {
		t.Errorf("loaded TLS %+v; want %+v", loaded.TLS, sb.TLS)
	}
	sts, err := sandbox.Status(ctx, sb.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if !st.Answering || st.Err != nil {
			t.Errorf("status of %s: answering %v, %v", st.Name, st.Answering, st.Err)
		}
	}

	// The option file keeps TLS across a restart.
	m, err := sb.Machine(sb.Replicas()[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	rs.Close()
	wantEncrypted(ctx, t, rs)
}

// Verification really happens: a certificate from another CA, or for
// another name, is refused with an error that names the server and the
// certificate problem; a client certificate is presented when set.
func TestTLSVerification(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1, TLS: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := sb.Primary()
	good, err := sb.ServerConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sandbox.GenerateTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("other CA", func(t *testing.T) {
		cfg := good
		cfg.TLS.CA = other.CA
		_, err := dial(ctx, t, cfg)
		wantError(t, err, in.String(), "certificate is not accepted", "ca "+other.CA, "unknown authority")
	})
	t.Run("other name", func(t *testing.T) {
		cfg := good
		cfg.TLS.ServerName = "db1.example"
		_, err := dial(ctx, t, cfg)
		wantError(t, err, in.String(), "certificate is not accepted", "name db1.example", "not db1.example")
	})
	t.Run("localhost", func(t *testing.T) {
		cfg := good
		cfg.TLS.ServerName = "localhost"
		sv, err := dial(ctx, t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wantEncrypted(ctx, t, sv)
	})

	t.Run("client certificate", func(t *testing.T) {
		admin, err := dial(ctx, t, good)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec(ctx, "CREATE USER 'certified'@'%' IDENTIFIED BY 'pw' REQUIRE SUBJECT '/CN="+sandbox.ClientCN+"'"); err != nil {
			t.Fatal(err)
		}
		cfg := good
		cfg.User, cfg.Password = "certified", "pw"
		_, err = dial(ctx, t, cfg)
		wantError(t, err, in.String(), "Access denied for user 'certified'")
		var se *server.Error
		if !errors.As(err, &se) || se.Code != 1045 {
			t.Errorf("without a client certificate: %#v; want server error 1045", err)
		}

		// The server ends the TLS session with an alert, which the driver
		// only logs; the error quotes it. Depending on timing the client
		// may see the reset (or a broken pipe) before it reads the alert
		// (seen under load).
		cfg.TLS.Cert, cfg.TLS.Key = other.ClientCert, other.ClientKey
		_, err = dial(ctx, t, cfg)
		refused := func(msg string) bool {
			for _, sign := range []string{"remote error: tls:", "connection reset by peer", "broken pipe"} {
				if strings.Contains(msg, sign) {
					return true
				}
			}
			return false
		}
		if err == nil || !strings.Contains(err.Error(), in.String()) || !refused(err.Error()) {
			t.Errorf("a client certificate from another CA: %v; want refused, naming %s", err, in)
		}

		cfg.TLS.Cert, cfg.TLS.Key = sb.TLS.ClientCert, sb.TLS.ClientKey
		sv, err := dial(ctx, t, cfg)
		if err != nil {
			t.Fatalf("with the client certificate: %v", err)
		}
		row, err := sv.QueryRow(ctx, "SELECT CURRENT_USER() AS u")
		if err != nil || row["u"] != "certified@%" {
			t.Errorf("CURRENT_USER() = %v, %v; want certified@%%", row["u"], err)
		}
	})
}

// tls = "required" against servers without TLS is refused with an error
// naming the server; "preferred" falls back to plain text. A replica told
// to replicate over TLS (roles.Follow with a CA) refuses a source without
// TLS instead of replicating in plain text.
func TestTLSAgainstPlainServer(t *testing.T) {
	t.Parallel()
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := sb.Primary()
	cfg, err := sb.ServerConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS != (server.TLSConfig{}) {
		t.Errorf("plain sandbox: tls %+v; want none", cfg.TLS)
	}
	cfg.TLS.Mode = server.TLSRequired
	_, err = dial(ctx, t, cfg)
	wantError(t, err, in.String(), "TLS requested but server does not support TLS")

	cfg.TLS.Mode = server.TLSPreferred
	primary, err := dial(ctx, t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	version, cipher, err := sessionTLS(ctx, primary)
	if err != nil || version != "" || cipher != "" {
		t.Errorf("preferred against a plain server: Ssl_version %q, Ssl_cipher %q, %v; want a plain session", version, cipher, err)
	}

	rcfg, err := sb.ServerConfig(sb.Replicas()[0])
	if err != nil {
		t.Fatal(err)
	}
	replica, err := dial(ctx, t, rcfg)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := sb.ReplUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	other, err := sandbox.GenerateTLS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repl := roles.Credentials{User: sb.ReplUser.Name, Password: pw}
	// Follow leaves a replica that already follows this primary alone.
	if _, err := replica.Exec(ctx, "STOP SLAVE"); err != nil {
		t.Fatal(err)
	}
	if err := roles.Follow(ctx, replica, primary, repl, roles.FollowOptions{SSLCA: other.CA}); err != nil {
		t.Fatal(err)
	}
	st := waitIOError(ctx, t, replica)
	if st.IORunning || !strings.Contains(st.LastIOError, "SSL is required, but the server does not support it") {
		t.Errorf("replica over TLS from a plain primary: io %s, %q; want it refused", st.IOThread, st.LastIOError)
	}
}

// waitIOError waits until the receiver of sv reports an error.
func waitIOError(ctx context.Context, t *testing.T, sv *server.Server) *flavor.ReplicaStatus {
	t.Helper()
	for {
		st, err := sv.ReplicaStatus(ctx)
		if err != nil || st == nil {
			t.Fatalf("%s: replica status %v, %v", sv, st, err)
		}
		if st.LastIOError != "" {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: no receiver error (io %s): %v", sv, st.IOThread, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func wantError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error; want one with %q", parts)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
	t.Logf("error: %v", err)
}

// The generated certificates chain to their CA, for the names the sandbox
// connects with, and the key pairs load; files are never overwritten.
func TestGenerateTLS(t *testing.T) {
	dir := t.TempDir()
	f, err := sandbox.GenerateTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s: no certificate", f.CA)
	}
	verify := func(cert, key, name string, usage x509.ExtKeyUsage) {
		t.Helper()
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("%s for %q: %v", cert, name, err)
		}
	}
	verify(f.ServerCert, f.ServerKey, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	verify(f.ServerCert, f.ServerKey, "localhost", x509.ExtKeyUsageServerAuth)
	verify(f.ClientCert, f.ClientKey, "", x509.ExtKeyUsageClientAuth)
	if _, err := sandbox.GenerateTLS(dir); err == nil || !strings.Contains(err.Error(), f.CA) {
		t.Errorf("second GenerateTLS into %s: %v; want an error naming %s", dir, err, f.CA)
	}
}
