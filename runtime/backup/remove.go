package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNoImage says there was no directory to remove.
var ErrNoImage = errors.New("no such image")

// RemoveImage deletes the image directory dir, a clone's temporary copy
// say. It refuses a directory that is not an image (no manifest this
// package can read) or that holds anything an image does not, so that a
// mistyped path cannot delete something else. A dir that does not exist
// is ErrNoImage: a backup that failed removed what it wrote itself.
func RemoveImage(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove image %s: %w", dir, ErrNoImage)
	}
	if _, err := ReadManifest(dir); err != nil {
		return fmt.Errorf("remove image %s: not an image, left as it is: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("remove image %s: %w", dir, err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ManifestFile, PayloadDir, toolLog:
		default:
			return fmt.Errorf("remove image %s: it holds %s, which no image has; left as it is", dir, e.Name())
		}
	}
	if err := os.RemoveAll(filepath.Clean(dir)); err != nil {
		return fmt.Errorf("remove image %s: %w", dir, err)
	}
	return nil
}
