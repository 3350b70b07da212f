package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func sqlExec(t *testing.T, sv *server.Server, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := sv.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

func variable(t *testing.T, sv *server.Server, name string) string {
	t.Helper()
	v, err := sv.Variable(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := v.(string)
	return s
}

func count(t *testing.T, sv *server.Server) int64 {
	t.Helper()
	row, err := sv.QueryRow(context.Background(), "SELECT COUNT(*) AS n FROM app.t")
	if err != nil {
		t.Fatal(err)
	}
	return row["n"].(int64)
}

// state is what a failed restore must not change.
func state(t *testing.T, sv *server.Server) string {
	t.Helper()
	sv.Close() // a restart may have ended the session
	return fmt.Sprintf("rows=%d binlog=%q slave=%q", count(t, sv), variable(t, sv, "gtid_binlog_pos"), variable(t, sv, "gtid_slave_pos"))
}

func caughtUp(t *testing.T, primary, replica *server.Server) {
	t.Helper()
	set, err := gtid.Parse(variable(t, primary, "gtid_binlog_pos"), gtid.MariaDB)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if ok, err := replica.WaitForGTID(ctx, set, 30*time.Second); err != nil || !ok {
		t.Fatalf("%s did not catch up with %s: %v, %v", replica, set, ok, err)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func flip(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
