package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// swap names the directories of a physical restore. All are siblings of
// the datadir, so that each move is a rename on one filesystem: atomic,
// and instant whatever the size.
type swap struct {
	datadir string // the server's datadir
	fresh   string // DATADIR.restore-STAMP: the copy being made
	old     string // DATADIR.old-STAMP: the previous datadir after the swap
	failed  string // DATADIR.failed-STAMP: the copy, if the server would not start on it
}

// planSwap finds the datadir and checks, before anything is stopped, that
// the swap can work: the datadir exists, is not a mount point (a mount
// point cannot be renamed, and its siblings live on another filesystem),
// none of the new names is taken, and the filesystem has room for the
// image.
func planSwap(ctx context.Context, j *restoreJob) (*swap, error) {
	dir := j.target.DataDir
	if j.reachable {
		sv := j.target.Server
		row, err := sv.QueryRow(ctx, "SELECT @@GLOBAL.datadir AS datadir, @@GLOBAL.hostname AS hostname")
		if err != nil {
			return nil, sqlStep("read datadir", err)
		}
		host, _ := row["hostname"].(string)
		if !isLocal(sv.Config(), host) {
			me, _ := os.Hostname()
			return nil, fmt.Errorf("a physical restore replaces the datadir's files, so it runs on the server's machine: "+
				"the server is %s (@@hostname %q), this is %q", sv.Address(), host, me)
		}
		if dir == "" {
			dir, _ = row["datadir"].(string)
		}
	} else if dir == "" {
		return nil, errNoDataDir
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(dir))
	if err != nil {
		return nil, fmt.Errorf("datadir: %w", err)
	}
	stamp := time.Now().UTC().Format("20060102T150405.000Z")
	s := &swap{datadir: real, fresh: real + ".restore-" + stamp, old: real + ".old-" + stamp, failed: real + ".failed-" + stamp}
	if err := s.check(j.m.Size); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *swap) check(need int64) error {
	var st, parent syscall.Stat_t
	if err := syscall.Stat(s.datadir, &st); err != nil {
		return fmt.Errorf("datadir %s: %w", s.datadir, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return fmt.Errorf("datadir %s is not a directory", s.datadir)
	}
	if err := syscall.Stat(filepath.Dir(s.datadir), &parent); err != nil {
		return err
	}
	if st.Dev != parent.Dev {
		return fmt.Errorf("datadir %s is a mount point: the restore builds the new datadir next to it and swaps the two by rename, "+
			"which needs them on one filesystem; make the datadir a directory inside the mount", s.datadir)
	}
	for _, p := range []string{s.fresh, s.old, s.failed} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s already exists", p)
		}
	}
	var fsst syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(s.datadir), &fsst); err != nil {
		return err
	}
	// The old datadir stays until the operator deletes it, so the image
	// needs room of its own, plus a margin for the server's first writes.
	if free := int64(fsst.Bavail) * int64(fsst.Bsize); free < need+need/10 {
		return fmt.Errorf("%s has %s free, the image needs %s (plus 10%%) next to the current datadir",
			filepath.Dir(s.datadir), mib(free), mib(need))
	}
	return nil
}

// swapIn puts the copy in place of the datadir; on failure the datadir is
// where it was.
func (s *swap) swapIn() error {
	if err := os.Rename(s.datadir, s.old); err != nil {
		return fmt.Errorf("swap: %w", err)
	}
	if err := os.Rename(s.fresh, s.datadir); err != nil {
		if back := os.Rename(s.old, s.datadir); back != nil {
			return fmt.Errorf("swap: %w; and moving the previous datadir back failed: %v (it is %s)", err, back, s.old)
		}
		return fmt.Errorf("swap: %w", err)
	}
	return nil
}

// swapOut undoes swapIn, keeping the restored copy aside for a post-mortem.
func (s *swap) swapOut() error {
	if err := os.Rename(s.datadir, s.failed); err != nil {
		return err
	}
	return os.Rename(s.old, s.datadir)
}

// matchOwnerAndMode gives the copy the datadir's mode and, when we may
// (running as root), its owner: copy-back writes files as the user running
// it, and a server running as mysql could not open root's files.
func matchOwnerAndMode(datadir, copy string) error {
	fi, err := os.Stat(datadir)
	if err != nil {
		return err
	}
	if err := os.Chmod(copy, fi.Mode().Perm()); err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 {
		return nil
	}
	uid, gid := int(st.Uid), int(st.Gid)
	return filepath.WalkDir(copy, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// errNoDataDir is returned when neither the caller nor the server says
// where the datadir is.
var errNoDataDir = errors.New("no datadir: the server cannot be asked (give the datadir)")
