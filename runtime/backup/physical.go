package backup

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// physical copies the datadir with mariadb-backup (MariaDB) or xtrabackup
// (MySQL), which share options and output files.
type physical struct{}

// binlogInfoFile is written by --backup: "FILE\tPOS\tGTID\n". mariadb-backup
// reads it under BACKUP STAGE BLOCK_COMMIT, when no transaction can
// commit, so it matches the copied InnoDB data exactly.
const binlogInfoFile = "xtrabackup_binlog_info"

// undoTimeout bounds putting a target back after a failed restore; it runs
// on a context of its own, so that a cancelled restore still undoes.
const undoTimeout = 5 * time.Minute

func (physical) backup(ctx context.Context, j *backupJob) error {
	t, err := findTool(ctx, backupRole, j.opts.Tools.Backup, j.fl)
	if err != nil {
		return err
	}
	if err := sameRelease(t, j.fl); err != nil {
		return err
	}
	j.manifest.Tool = t.String()
	log, err := os.OpenFile(filepath.Join(j.image, toolLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	if h := j.opts.Host; h != nil && !machine.IsLocal(h) {
		// The server's machine says where its files are, whatever
		// @@hostname or the address we reach it at say.
		err = streamBackup(ctx, j, h, t, log)
	} else {
		err = copyLocalDatadir(ctx, j, t, log)
	}
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, t.path, "--no-defaults", "--prepare", "--target-dir="+j.payload)
	if err := runTool(ctx, cmd, log, ""); err != nil {
		return fmt.Errorf("prepare: %w (full log: %s)", err, log.Name())
	}
	b, err := os.ReadFile(filepath.Join(j.payload, binlogInfoFile))
	if err != nil {
		return fmt.Errorf("%s wrote no binlog position: %w", filepath.Base(t.path), err)
	}
	j.manifest.Position, j.manifest.GTID, err = parseBinlogInfo(string(b), j.fl.IsMariaDB())
	if err != nil {
		return fmt.Errorf("%s: %w", binlogInfoFile, err)
	}
	return nil
}

// sameRelease refuses a backup tool of another major.minor than the
// server: "mariadb-backup should be the same version as the server"
// (MariaDB docs), because InnoDB's redo log format changes between
// releases.
func sameRelease(t tool, fl flavor.Flavor) error {
	if t.version.Major != fl.Major || t.version.Minor != fl.Minor {
		return fmt.Errorf("%s cannot copy a %s server: use the %s of the server's release", t, fl, filepath.Base(t.path))
	}
	return nil
}

// copyLocalDatadir runs the tool here, on the datadir of a server that
// runs here.
func copyLocalDatadir(ctx context.Context, j *backupJob, t tool, log *os.File) error {
	datadir, err := localDataDir(ctx, j.src)
	if err != nil {
		return err
	}
	return copyDatadir(ctx, j, t, datadir, log)
}

func copyDatadir(ctx context.Context, j *backupJob, t tool, datadir string, log *os.File) error {
	of, err := newOptionFile(j.src.Config(), t)
	if err != nil {
		return err
	}
	defer of.cleanup()
	p := startProgress(j.opts.Progress, j.src.String()+": physical backup", 0, func() int64 { return dirSize(j.payload) })
	cmd := exec.CommandContext(ctx, t.path, of.arg(), "--backup", "--target-dir="+j.payload, "--datadir="+datadir)
	err = runTool(ctx, cmd, log, of.password)
	p.finish(doneOrFailed(err))
	if err != nil {
		return fmt.Errorf("%w (full log: %s)", err, log.Name())
	}
	return nil
}

// localDataDir returns the source's datadir, after making sure the server
// runs here and the directory is readable.
func localDataDir(ctx context.Context, src *server.Server) (string, error) {
	row, err := src.QueryRow(ctx, "SELECT @@GLOBAL.datadir AS datadir, @@GLOBAL.hostname AS hostname")
	if err != nil {
		return "", err
	}
	dir, _ := row["datadir"].(string)
	host, _ := row["hostname"].(string)
	if !isLocal(src.Config(), host) {
		me, _ := os.Hostname()
		return "", fmt.Errorf("a physical backup reads the datadir's files, so it runs on the server's machine: "+
			"the server is %s (@@hostname %q), this is %q; use the logical method", src.Address(), host, me)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("datadir: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("datadir %s is not a directory", dir)
	}
	return filepath.Clean(dir), nil
}

// parseBinlogInfo reads "mysql-bin.000001\t1268\t0-1-5". MySQL's GTID set
// may go on over several lines, one UUID each.
func parseBinlogInfo(text string, mariadb bool) (pos, gtids string, err error) {
	parts := strings.SplitN(strings.TrimSpace(text), "\t", 3)
	if len(parts) < 2 {
		return "", "", fmt.Errorf("want FILE<tab>POS<tab>GTID, got %q", text)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(parts[1]), 10, 64)
	if err != nil {
		return "", "", fmt.Errorf("position %q: %w", parts[1], err)
	}
	p, err := gtid.ParsePosition(parts[0] + ":" + strconv.FormatUint(n, 10))
	if err != nil {
		return "", "", err
	}
	if len(parts) == 3 {
		gtids = strings.Join(strings.Fields(parts[2]), "")
	}
	if _, err := gtid.Parse(gtids, flavor.GTIDFlavorOf(mariadb)); err != nil {
		return "", "", fmt.Errorf("GTID set: %w", err)
	}
	return p.String(), gtids, nil
}

// restore replaces the target's datadir:
//
//  1. find the datadir, check that a sibling directory can hold the image
//     and be swapped in by rename (same filesystem, not a mount point)
//  2. stop the server
//  3. fill DATADIR.restore-STAMP, owner and mode as the datadir: here
//     with --copy-back; on another host by streaming the image's files
//     through the target's machine
//  4. rename DATADIR to DATADIR.old-STAMP, DATADIR.restore-STAMP to DATADIR
//  5. start the server, reset its binary logs, set its GTID state
//
// Until the server runs on the new datadir, a failure removes the copy,
// puts the old datadir back and starts the server again.
func (physical) restore(ctx context.Context, j *restoreJob) error {
	d, err := restoreDirs(ctx, j)
	if err != nil {
		return err
	}
	s, err := planSwap(ctx, j, d)
	if err != nil {
		return err
	}
	ctrl := j.target.Controller
	if err := ctrl.Stop(ctx); err != nil {
		return fmt.Errorf("stop: %w%s", err, undo(ctx, ctrl, nil))
	}
	if err := fillAndSwap(ctx, j, s); err != nil {
		return fmt.Errorf("%w%s", err, undo(ctx, ctrl, nil))
	}
	if err := ctrl.Start(ctx); err != nil {
		return fmt.Errorf("start on the restored datadir: %w%s", err, undo(ctx, ctrl, s))
	}
	j.result.OldDataDir = s.old
	sv := j.target.Server
	// The session, if any, died with the server; reconnect.
	sv.Close()
	if err := prepareForLoad(ctx, sv, j.fl); err != nil {
		return afterStart(err, j)
	}
	return afterStart(setGTIDState(ctx, sv, j.fl, j.m, Physical), j)
}

// fillAndSwap makes the new datadir and swaps it in. On failure the
// datadir is where it was and the copy is gone (or the error says where
// it is).
func fillAndSwap(ctx context.Context, j *restoreJob, s *swap) error {
	err := s.dirs.fill(ctx, j, s.fresh)
	if err == nil {
		err = s.dirs.adopt(ctx, s.datadir, s.fresh)
	}
	if err == nil {
		err = s.swapIn(ctx)
	}
	if err == nil {
		return nil
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	if rerr := s.dirs.removeAll(uctx, s.fresh); rerr != nil {
		return fmt.Errorf("%w (and removing the partial copy %s failed: %v)", err, s.fresh, rerr)
	}
	return err
}

// afterStart explains a failure once the restored server runs: the data is
// in place, only its GTID state is not.
func afterStart(err error, j *restoreJob) error {
	if err == nil {
		return nil
	}
	msg := "the restored server runs, but its GTID state is not set: %w; RESET MASTER and set the GTID state to %q by hand " +
		"(a refused login: the image's accounts replaced the target's, log in as on %s; previous datadir: %s)"
	return fmt.Errorf(msg, err, j.m.GTID, j.m.Server, j.result.OldDataDir)
}

// undo starts the server again after a failure, on the old datadir (s, when
// the swap happened, is reverted first). It returns text to append to the
// error: what state the target was left in.
func undo(ctx context.Context, ctrl Controller, s *swap) string {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	if s != nil {
		if err := ctrl.Stop(uctx); err != nil {
			return fmt.Sprintf("; stopping it again failed too (%v): the restored datadir is in place, the previous one is %s", err, s.old)
		}
		if err := s.swapOut(uctx); err != nil {
			return fmt.Sprintf("; putting the previous datadir back failed (%v): it is %s", err, s.old)
		}
	}
	if err := ctrl.Start(uctx); err != nil {
		return fmt.Sprintf("; the previous datadir is in place, but starting the server again failed: %v", err)
	}
	if s != nil {
		return fmt.Sprintf("; the previous datadir is back and the server runs on it (the restored copy is kept in %s)", s.failed)
	}
	return "; the target runs as it was"
}
