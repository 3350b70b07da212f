package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Local returns the Host for this computer.
func Local() Host { return localHost{} }

type localHost struct{}

func (localHost) String() string { return "local" }

func (localHost) Run(ctx context.Context, argv []string) ([]byte, error) {
	return command{argv: argv, display: argv}.run(ctx)
}

func (localHost) RunStream(ctx context.Context, argv []string, stdin io.Reader, stdout io.Writer) error {
	return command{argv: argv, display: argv}.stream(ctx, stdin, stdout)
}

func (localHost) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

func (localHost) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeFileAtomic(path, data, mode); err != nil {
		// The temporary file's name would only puzzle the reader.
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err
		}
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// writeFileAtomic writes a temporary file next to path and renames it over
// path: rename(2) within one directory replaces atomically, so a server
// reading its option file never sees half of it. The data is synced
// before the rename, so that a crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	// CreateTemp makes 0600 files; Chmod is not subject to the umask.
	if err = f.Chmod(mode.Perm()); err != nil {
		return err
	}
	if err = keepOwner(f, path); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// keepOwner gives f the owner and group of the file it replaces (an
// option file owned by mysql must stay readable by mysql). Only root may
// give a file away; others keep what they can, which is the same file
// owner as before whenever they own it.
func keepOwner(f *os.File, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	err = f.Chown(int(st.Uid), int(st.Gid))
	if errors.Is(err, fs.ErrPermission) {
		return nil
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
