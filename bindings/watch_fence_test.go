package bindings

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// watch's fence of a server whose machine is a systemd unit: SIGKILL
// through systemctl kill, then stop and is-active, never a stop alone
// (which would send SIGCONT after SIGTERM and wake a stopped server).
// systemctl is a fake on PATH: this machine runs no systemd.
func TestFenceThroughSystemdKills(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	writeFile(t, dir, "systemctl", `#!/bin/sh
printf '%s\n' "$*" >> `+calls+`
[ "$2" = is-active ] && { echo inactive; exit 3; }
exit 0
`)
	if err := os.Chmod(filepath.Join(dir, "systemctl"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	p := writeFile(t, dir, "dep.lua", `return { user = { name = "u", password = "pw" }, servers = {
  db1 = { host = "127.0.0.1", port = 1, machine = { service = "mariadb@db1" } },
  db2 = { host = "127.0.0.1", port = 2 } } }`)
	d, err := LoadDeployment(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	wc := WatchConfig{Run: Config{Deployment: d}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fence(ctx, wc, "db1"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(calls)
	want := "--no-ask-password kill --signal=SIGKILL mariadb@db1\n--no-ask-password stop mariadb@db1\n--no-ask-password is-active mariadb@db1\n"
	if string(b) != want {
		t.Errorf("systemctl calls:\n%s\nwant:\n%s", b, want)
	}
	if err := fence(ctx, wc, "db2"); err == nil || !strings.Contains(err.Error(), "db2 has no machine") {
		t.Errorf("fence of a server without a machine: %v", err)
	}
}
