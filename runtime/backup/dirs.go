package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
)

// dirs is where a physical restore builds the new datadir and swaps it
// in: on this machine (localDirs), or on the target's host through its
// machine (remoteDirs). Each method names its paths in errors; callers
// add the server.
type dirs interface {
	// inspect resolves the datadir and gathers what planSwap checks;
	// suffixes make the sibling names that must not exist yet.
	inspect(ctx context.Context, datadir string, suffixes []string) (*dirFacts, error)
	// fill writes the image's datadir into dir, which does not exist.
	fill(ctx context.Context, j *restoreJob, dir string) error
	// adopt gives dir the datadir's mode and, where allowed, its owner.
	adopt(ctx context.Context, datadir, dir string) error
	rename(ctx context.Context, from, to string) error
	removeAll(ctx context.Context, path string) error
}

// restoreDirs picks where the restore works: through the target's
// machine when it is on another host, whatever the server's address or
// @@hostname say; else here, with the backup tool's --copy-back.
func restoreDirs(ctx context.Context, j *restoreJob) (dirs, error) {
	if h := j.target.Host; h != nil && !machine.IsLocal(h) {
		return remoteDirs{h: h}, nil
	}
	t, err := findTool(ctx, backupRole, j.opts.Tools.Backup, j.fl)
	if err != nil {
		return nil, err
	}
	return localDirs{tool: t}, nil
}

// localDirs works on this machine's filesystem.
type localDirs struct {
	tool tool // mariadb-backup or xtrabackup, for --copy-back
}

func (localDirs) inspect(_ context.Context, datadir string, suffixes []string) (*dirFacts, error) {
	real, err := filepath.EvalSymlinks(datadir)
	if err != nil {
		return nil, fmt.Errorf("datadir: %w", err)
	}
	f := &dirFacts{path: real, uid: -1, euid: -1}
	var st, parent syscall.Stat_t
	if err := syscall.Stat(real, &st); err != nil {
		return nil, fmt.Errorf("datadir %s: %w", real, err)
	}
	f.isDir = st.Mode&syscall.S_IFMT == syscall.S_IFDIR
	if err := syscall.Stat(filepath.Dir(real), &parent); err != nil {
		return nil, err
	}
	f.mountPoint = st.Dev != parent.Dev
	for _, sfx := range suffixes {
		if _, err := os.Lstat(real + sfx); !errors.Is(err, fs.ErrNotExist) {
			f.taken = append(f.taken, real+sfx)
		}
	}
	var fsst syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(real), &fsst); err != nil {
		return nil, err
	}
	f.free = int64(fsst.Bavail) * int64(fsst.Bsize)
	return f, nil
}

func (d localDirs) fill(ctx context.Context, j *restoreJob, dir string) error {
	p := startProgress(j.opts.Progress, j.target.Server.String()+": physical restore", j.m.Size,
		func() int64 { return dirSize(dir) })
	// --no-defaults: every InnoDB file goes under --datadir, whatever
	// /etc/mysql/my.cnf says (see the package's limits).
	cmd := exec.CommandContext(ctx, d.tool.path, "--no-defaults", "--copy-back", "--target-dir="+j.payload, "--datadir="+dir)
	err := runTool(ctx, cmd, nil, "")
	p.finish(doneOrFailed(err))
	if err != nil {
		return fmt.Errorf("copy-back: %w", err)
	}
	return nil
}

func (localDirs) adopt(_ context.Context, datadir, dir string) error {
	return matchOwnerAndMode(datadir, dir)
}

func (localDirs) rename(_ context.Context, from, to string) error { return os.Rename(from, to) }

func (localDirs) removeAll(_ context.Context, path string) error { return os.RemoveAll(path) }
