package backup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeImage writes a sealed image with two payload files.
func fakeImage(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "img")
	if err := os.MkdirAll(filepath.Join(dir, PayloadDir, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"dump.sql": "-- a dump\nSELECT 1;\n", "sub/x.ibd": strings.Repeat("x", 5000)} {
		if err := os.WriteFile(filepath.Join(dir, PayloadDir, name), []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	m := &Manifest{Method: Logical, Server: "db2", Address: "127.0.0.1:3307", Flavor: "mariadb",
		Version: "10.11.19-MariaDB", Position: "mysql-bin.000001:4", GTID: "0-1-5", Created: time.Now().UTC()}
	if err := seal(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestVerifyGood(t *testing.T) {
	dir := fakeImage(t)
	m, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != int64(5000+len("-- a dump\nSELECT 1;\n")) || len(m.Files) != 2 || m.Files[0].Path != "dump.sql" || m.Files[1].Path != "sub/x.ibd" {
		t.Errorf("manifest = %+v", m)
	}
	if p, err := m.BinlogPosition(); err != nil || p.String() != "mysql-bin.000001:4" {
		t.Errorf("position = %v, %v", p, err)
	}
	if g, err := m.GTIDSet(); err != nil || g.String() != "0-1-5" {
		t.Errorf("gtid = %v, %v", g, err)
	}
}

func TestVerifyRefusesDamage(t *testing.T) {
	payload := func(dir, name string) string { return filepath.Join(dir, PayloadDir, name) }
	for _, c := range []struct {
		name   string
		damage func(dir string)
		want   string
	}{
		{"flipped byte", func(dir string) {
			b, _ := os.ReadFile(payload(dir, "sub/x.ibd"))
			b[2500] ^= 1
			os.WriteFile(payload(dir, "sub/x.ibd"), b, 0o640)
		}, "payload/sub/x.ibd: SHA-256"},
		{"truncated", func(dir string) { os.Truncate(payload(dir, "dump.sql"), 5) }, "payload/dump.sql: 5 bytes, manifest.json says 20 (truncated"},
		{"missing manifest", func(dir string) { os.Remove(filepath.Join(dir, ManifestFile)) }, "no manifest.json"},
		{"missing file", func(dir string) { os.Remove(payload(dir, "dump.sql")) }, "payload/dump.sql: missing"},
		{"extra file", func(dir string) { os.WriteFile(payload(dir, "evil.so"), []byte("x"), 0o640) }, "payload/evil.so: not listed"},
		{"symlink", func(dir string) { os.Symlink("/etc/passwd", payload(dir, "link")) }, "payload/link: not a regular file"},
		{"no payload", func(dir string) { os.RemoveAll(filepath.Join(dir, PayloadDir)) }, "no payload directory"},
		{"bad json", func(dir string) { os.WriteFile(filepath.Join(dir, ManifestFile), []byte("{"), 0o644) }, "manifest.json: unexpected end"},
		{"edited list", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
			os.WriteFile(filepath.Join(dir, ManifestFile), []byte(strings.Replace(string(b), `"sha256": "`, `"sha256": "0`, 1)), 0o644)
		}, "checksum of the file list"},
	} {
		dir := fakeImage(t)
		c.damage(dir)
		_, err := Verify(dir)
		if err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: Verify = %v; want ErrCorrupt naming %s and %q", c.name, err, dir, c.want)
		}
	}
}

func TestMakeImageDir(t *testing.T) {
	base := t.TempDir()
	if created, err := makeImageDir(filepath.Join(base, "new")); err != nil || !created {
		t.Errorf("new dir: %v, %v", created, err)
	}
	if created, err := makeImageDir(filepath.Join(base, "new")); err != nil || created {
		t.Errorf("empty dir: %v, %v", created, err)
	}
	os.WriteFile(filepath.Join(base, "new", "x"), nil, 0o600)
	if _, err := makeImageDir(filepath.Join(base, "new")); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty dir: %v", err)
	}
}
