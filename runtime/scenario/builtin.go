package scenario

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

// builtin is the project's own catalogue of hostile scenarios: what the
// bundled procedures must survive (wrong passwords, errant and delayed
// replicas, MariaDB's gtid_strict_mode=OFF, servers dying mid-procedure).
//
//go:embed builtin
var builtin embed.FS

// ExtractBuiltin writes the built-in scenarios under dir and returns the
// folder that holds them, for Find.
func ExtractBuiltin(dir string) (string, error) {
	err := fs.WalkDir(builtin, "builtin", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, path)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := builtin.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	return filepath.Join(dir, "builtin"), err
}
