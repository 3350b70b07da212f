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
	dirs    dirs   // where they are: here, or the target's host
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
func planSwap(ctx context.Context, j *restoreJob, d dirs) (*swap, error) {
	dir := j.target.DataDir
	if j.reachable {
		sv := j.target.Server
		row, err := sv.QueryRow(ctx, "SELECT @@GLOBAL.datadir AS datadir, @@GLOBAL.hostname AS hostname")
		if err != nil {
			return nil, sqlStep("read datadir", err)
		}
		host, _ := row["hostname"].(string)
		if _, here := d.(localDirs); here && !isLocal(sv.Config(), host) {
			me, _ := os.Hostname()
			return nil, fmt.Errorf("a physical restore replaces the datadir's files, so it runs on the server's machine: "+
				"the server is %s (@@hostname %q), this is %q; or give its machine (an ssh machine reaches its files)", sv.Address(), host, me)
		}
		if dir == "" {
			dir, _ = row["datadir"].(string)
		}
	} else if dir == "" {
		return nil, errNoDataDir
	}
	stamp := time.Now().UTC().Format("20060102T150405.000Z")
	suffixes := []string{".restore-" + stamp, ".old-" + stamp, ".failed-" + stamp}
	f, err := d.inspect(ctx, filepath.Clean(dir), suffixes)
	if err != nil {
		return nil, err
	}
	real := f.path
	s := &swap{dirs: d, datadir: real, fresh: real + suffixes[0], old: real + suffixes[1], failed: real + suffixes[2]}
	if err := f.check(j.m.Size); err != nil {
		return nil, err
	}
	return s, nil
}

// dirFacts is what planSwap needs to know about the datadir.
type dirFacts struct {
	path       string // the datadir, symlinks resolved
	isDir      bool
	mountPoint bool     // on another device than its parent directory
	taken      []string // the sibling names asked about that exist
	free       int64    // bytes available to us on the parent's filesystem
	// uid is the datadir's owner and euid the user who writes the copy,
	// when it is checked (-1: not checked).
	uid, euid int
}

func (f *dirFacts) check(need int64) error {
	if !f.isDir {
		return fmt.Errorf("datadir %s is not a directory", f.path)
	}
	if f.mountPoint {
		return fmt.Errorf("datadir %s is a mount point: the restore builds the new datadir next to it and swaps the two by rename, "+
			"which needs them on one filesystem; make the datadir a directory inside the mount", f.path)
	}
	if len(f.taken) > 0 {
		return fmt.Errorf("%s already exists", f.taken[0])
	}
	// The old datadir stays until the operator deletes it, so the image
	// needs room of its own, plus a margin for the server's first writes.
	if f.free < need+need/10 {
		return fmt.Errorf("%s has %s free, the image needs %s (plus 10%%) next to the current datadir",
			filepath.Dir(f.path), mib(f.free), mib(need))
	}
	// Only root may give files away: anyone else would leave the server
	// a copy it cannot read.
	if f.euid > 0 && f.uid >= 0 && f.euid != f.uid {
		return fmt.Errorf("datadir %s belongs to uid %d, and the restore would write its copy as uid %d, which cannot give files away: "+
			"log in as root or as the datadir's owner", f.path, f.uid, f.euid)
	}
	return nil
}

// swapIn puts the copy in place of the datadir; on failure the datadir is
// where it was.
func (s *swap) swapIn(ctx context.Context) error {
	if err := s.dirs.rename(ctx, s.datadir, s.old); err != nil {
		return fmt.Errorf("swap: %w", err)
	}
	if err := s.dirs.rename(ctx, s.fresh, s.datadir); err != nil {
		// Even when ctx has ended: the server needs its datadir back.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
		defer cancel()
		if back := s.dirs.rename(uctx, s.old, s.datadir); back != nil {
			return fmt.Errorf("swap: %w; and moving the previous datadir back failed: %v (it is %s)", err, back, s.old)
		}
		return fmt.Errorf("swap: %w", err)
	}
	return nil
}

// swapOut undoes swapIn, keeping the restored copy aside for a post-mortem.
func (s *swap) swapOut(ctx context.Context) error {
	if err := s.dirs.rename(ctx, s.datadir, s.failed); err != nil {
		return err
	}
	return s.dirs.rename(ctx, s.old, s.datadir)
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
