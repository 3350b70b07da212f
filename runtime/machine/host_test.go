package machine

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// awkwardName is a file name that breaks naive shell commands.
const awkwardName = "we'ird $name `x`\n\"q\" -n *.cnf"

// awkwardData has no final newline, a NUL and bytes that are not UTF-8.
var awkwardData = []byte("[mysqld]\n$HOME `id` 'q' \"dq\" \\\n\x00binary\xff\xfe end")

// testHostFiles checks ReadFile and WriteFile of h, which reaches the
// local file system (itself or over ssh to 127.0.0.1).
func testHostFiles(t *testing.T, h Host) {
	ctx := testContext(t, time.Minute)
	dir := t.TempDir()
	path := filepath.Join(dir, awkwardName)

	if _, err := h.ReadFile(ctx, path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of a missing file: %v, want fs.ErrNotExist", err)
	}
	if err := h.WriteFile(ctx, path, awkwardData, 0o640); err != nil {
		t.Fatal(err)
	}
	wantFile(t, path, awkwardData, 0o640)
	got, err := h.ReadFile(ctx, path)
	if err != nil || !bytes.Equal(got, awkwardData) {
		t.Fatalf("ReadFile = %q, %v; want %q", got, err, awkwardData)
	}

	// Replacing keeps the owner (root may give a file to anyone).
	if os.Geteuid() == 0 {
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.WriteFile(ctx, path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantFile(t, path, nil, 0o600)
	if fi, _ := os.Stat(path); os.Geteuid() == 0 && fi.Sys().(*syscall.Stat_t).Uid != 65534 {
		t.Errorf("WriteFile gave the file to uid %d, want its owner 65534 kept", fi.Sys().(*syscall.Stat_t).Uid)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{awkwardName}) {
		t.Errorf("directory holds %q, want only the file (no temporary left)", names)
	}

	missing := filepath.Join(dir, "no such dir", "f")
	err = h.WriteFile(ctx, missing, []byte("x"), 0o644)
	contains(t, err, "no such dir")
	t.Logf("%s: WriteFile into a missing directory: %v", h, err)
}

func wantFile(t *testing.T, path string, data []byte, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("mode %v, want %v", fi.Mode().Perm(), mode)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, data) {
		t.Errorf("content %q, want %q", got, data)
	}
}

func dirNames(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestLocalFiles(t *testing.T) { testHostFiles(t, Local()) }

func TestLocalRun(t *testing.T) {
	ctx := testContext(t, time.Minute)
	out, err := Local().Run(ctx, append([]string{"printf", `%s\0`}, awkward...))
	if err != nil {
		t.Fatal(err)
	}
	if got := nulSplit(out); !slices.Equal(got, awkward) {
		t.Errorf("got %q", got)
	}
	_, err = Local().Run(ctx, []string{"sh", "-c", "echo 'Permission denied' >&2; exit 3"})
	contains(t, err, "sh -c 'echo '\\''Permission denied'\\'' >&2; exit 3': exit status 3: Permission denied")
	if ce, ok := errors.AsType[*CommandError](err); !ok || ce.ExitCode != 3 {
		t.Errorf("want exit code 3 in a *CommandError, got %#v", err)
	}
}
