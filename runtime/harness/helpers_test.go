package harness

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// dial opens the tool's account on a server at port (its own or a
// proxy's) with a short connect timeout, so that a hung path shows as
// an error quickly.
func dial(t *testing.T, sb *sandbox.Sandbox, name string, port int, timeout time.Duration) *server.Server {
	t.Helper()
	db := open(t, sb, name, port, timeout)
	t.Cleanup(func() { db.Close() })
	return db
}

// open is dial's server, which the caller closes.
func open(t *testing.T, sb *sandbox.Sandbox, name string, port int, timeout time.Duration) *server.Server {
	t.Helper()
	in, _ := sb.Instance(name)
	cfg, err := sb.ServerConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Port, cfg.ConnectTimeout = port, timeout
	db, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// direct is the tool's account on the server's own port.
func direct(t *testing.T, sb *sandbox.Sandbox, name string) *server.Server {
	t.Helper()
	in, _ := sb.Instance(name)
	return dial(t, sb, name, in.Port, 5*time.Second)
}

// answers pings the server at port on a fresh connection.
func answers(t *testing.T, sb *sandbox.Sandbox, name string, port int, timeout time.Duration) error {
	t.Helper()
	db := open(t, sb, name, port, timeout)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return db.Ping(ctx)
}

func status(t *testing.T, db *server.Server) *flavor.ReplicaStatus {
	t.Helper()
	st, err := db.ReplicaStatus(context.Background())
	if err != nil || st == nil {
		t.Fatalf("%s: replica status: %v, %v", db, st, err)
	}
	return st
}

func variable(t *testing.T, db *server.Server, name string) string {
	t.Helper()
	v, err := db.Variable(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(v)
}

// write commits a row on db (the harness table's schema is not needed:
// a table of the test's own) and returns the server's GTID set after it.
func write(t *testing.T, db *server.Server) gtid.Set {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS harness_test",
		"CREATE TABLE IF NOT EXISTS harness_test.t (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6))",
		"INSERT INTO harness_test.t (at) VALUES (NOW(6))"} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %s: %v", db, q, err)
		}
	}
	set, err := db.GTIDExecuted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// arrives reports whether db applies set within d.
func arrives(t *testing.T, db *server.Server, set gtid.Set, d time.Duration) bool {
	t.Helper()
	ok, err := db.WaitForGTID(context.Background(), set, d)
	if err != nil {
		t.Fatalf("%s: wait for %s: %v", db, set, err)
	}
	return ok
}

// refused reports whether the port refuses TCP connections.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// noSecrets fails when an error text holds a password of the sandbox.
func noSecrets(t *testing.T, sb *sandbox.Sandbox, errs ...error) {
	t.Helper()
	for _, c := range []sandbox.Credential{sb.User, sb.ReplUser, sb.AppUser} {
		pw, err := c.Password()
		if err != nil || pw == "" {
			continue
		}
		for _, e := range errs {
			if e != nil && strings.Contains(e.Error(), pw) {
				t.Errorf("an error shows %s's password: %v", c.Name, e)
			}
		}
	}
}
