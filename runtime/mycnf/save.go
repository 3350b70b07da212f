package mycnf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// newFileMode is used when Save creates a file. The server ignores a
// world-writable option file ("World-writable config file '%s' is ignored").
const newFileMode = 0o644

// Save writes the file to path atomically: a temporary file in the same
// directory is written, given the old file's mode and owner, synced, and
// renamed over path; then the directory is synced. A reader sees the old
// file or the new one, never a mix. A symbolic link is followed, so that
// /etc/mysql/my.cnf -> /etc/alternatives/my.cnf stays a link.
func (f *File) Save(path string) error {
	if err := f.save(path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

func (f *File) save(path string) error {
	target, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		if info, lerr := os.Lstat(path); lerr == nil && info.Mode()&fs.ModeSymlink != 0 {
			return errors.New("dangling symbolic link")
		}
		target, err = path, nil
	}
	if err != nil {
		return err
	}
	mode := fs.FileMode(newFileMode)
	old, err := os.Stat(target)
	switch {
	case err == nil:
		mode = old.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	default:
		old = nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp*")
	if err != nil {
		return err
	}
	if err := writeTemp(tmp, f.Bytes(), mode, old); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(filepath.Dir(target))
}

func writeTemp(tmp *os.File, data []byte, mode fs.FileMode, old fs.FileInfo) error {
	_, err := tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil && old != nil {
		err = keepOwner(tmp, old)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes the rename durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
