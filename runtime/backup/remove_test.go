package backup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RemoveImage deletes an image and nothing else: a directory without a
// manifest, or with a file no image has, is refused and left whole.
func TestRemoveImage(t *testing.T) {
	dir := fakeImage(t)
	if err := RemoveImage(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("image still there: %v", err)
	}
	if err := RemoveImage(dir); !errors.Is(err, ErrNoImage) {
		t.Errorf("removed twice: %v, want ErrNoImage", err)
	}

	notImage := t.TempDir()
	if err := os.WriteFile(filepath.Join(notImage, "precious"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := RemoveImage(notImage); err == nil || !strings.Contains(err.Error(), "not an image") {
		t.Errorf("a directory without a manifest: %v", err)
	}

	extra := fakeImage(t)
	if err := os.WriteFile(filepath.Join(extra, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := RemoveImage(extra); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("an image with a file of the operator's: %v", err)
	}
	for _, p := range []string{filepath.Join(notImage, "precious"), filepath.Join(extra, "notes.txt"), filepath.Join(extra, ManifestFile)} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
