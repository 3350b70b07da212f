package mycnf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSave(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "mariadb.cnf")
	if err := os.WriteFile(real, []byte("[mysqld]\nport=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "my.cnf")
	if err := os.Symlink("mariadb.cnf", link); err != nil {
		t.Fatal(err)
	}
	f, err := Load(link)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Set("mysqld", "port", "2"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(link); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink replaced: %v %v", info, err)
	}
	info, err := os.Stat(real)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v; want 0600", info, err)
	}
	if data, _ := os.ReadFile(real); string(data) != "[mysqld]\nport=2\n" {
		t.Errorf("content = %q", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary file left behind: %v", entries)
	}
}

func TestSaveNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.cnf")
	f := mustParse(t, "")
	if err := f.Set("mysqld", "server_id", "3"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != newFileMode {
		t.Fatalf("stat = %v, %v", info, err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := g.Get("mysqld", "server-id"); !ok || o.Value != "3" {
		t.Errorf("Get = %+v, %v", o, ok)
	}
}

func TestSaveErrors(t *testing.T) {
	dir := t.TempDir()
	dangling := filepath.Join(dir, "dangling.cnf")
	os.Symlink("missing.cnf", dangling)
	f := mustParse(t, "[mysqld]\n")
	if err := f.Save(dangling); err == nil || !strings.Contains(err.Error(), "dangling symbolic link") {
		t.Errorf("dangling: err = %v", err)
	}
	if err := f.Save(filepath.Join(dir, "no", "such", "dir.cnf")); err == nil {
		t.Error("missing directory: no error")
	}
}
