//go:build unix

package mycnf

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestSaveKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file away")
	}
	path := filepath.Join(t.TempDir(), "owned.cnf")
	if err := os.WriteFile(path, []byte("[mysqld]\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 4321, 4322); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetFlag("mysqld", "skip-name-resolve"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); !ok || st.Uid != 4321 || st.Gid != 4322 || info.Mode().Perm() != 0o640 {
		t.Errorf("owner/mode not kept: %+v %v", info.Sys(), info.Mode())
	}
}
