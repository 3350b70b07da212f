package backup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Controller stops and starts the server a physical restore replaces.
// runtime/machine's Machine satisfies it; Start returns once the server
// accepts connections, and neither fails on a server already in the
// wanted state.
type Controller interface {
	Stop(ctx context.Context) error
	Start(ctx context.Context) error
}

// Target is the server an image is restored into. Everything on it is
// replaced: data, accounts (the image carries the mysql schema), binary
// logs and GTID state.
type Target struct {
	Server *server.Server // to check it, and to set its GTID state after the load
	// Controller stops and starts it: physical restores only.
	Controller Controller
	// Host is the server's machine. When it is not this computer (an ssh
	// machine), a physical restore reaches the datadir through it: the
	// image is streamed there and the directories are swapped there,
	// whatever the server's address or @@hostname say. nil or a local
	// machine: the datadir is on this computer. Often the Controller too.
	Host machine.Host
	// DataDir is the datadir a physical restore replaces; empty means the
	// server's @@datadir. Given, it lets a server that cannot start
	// (the reason to rebuild it) be restored without the checks that need
	// a connection.
	DataDir string
}

// RestoreOptions of Restore.
type RestoreOptions struct {
	Tools    Tools
	Progress io.Writer // as in Options
}

// Restored reports a restore.
type Restored struct {
	Manifest *Manifest
	// OldDataDir is where a physical restore moved the target's previous
	// datadir ("DATADIR.old-20261124T061035Z"); the operator deletes it.
	OldDataDir string
	// DryRun is set when the target server is in dry-run mode: the image
	// was verified and the target checked, nothing was changed.
	DryRun bool
}

// ErrNeedsController is returned for a physical restore without a
// Controller.
var ErrNeedsController = errors.New("physical restore needs machine control (a way to stop and start the server)")

type restoreJob struct {
	target    Target
	m         *Manifest
	payload   string
	opts      RestoreOptions
	fl        flavor.Flavor // the target's, or the image's when it is unreachable
	reachable bool
	result    *Restored
}

// Restore replaces target's data with the image at image, after checking
// the image (Verify) and the target; on any problem found there, nothing
// has been changed. Then the target's GTID state is the image's, so that
// it can replicate from the image's topology with GTID auto-positioning:
//
//  1. verify the image's checksums
//  2. check the target: same product and major.minor as the image, no
//     replica attached (its binary logs are about to be reset)
//  3. logical: stop replication, reset binary logs, load the dump without
//     binary logging, set gtid_slave_pos (MariaDB; MySQL's dump sets
//     gtid_purged itself)
//     physical: stop the server, copy the image next to its datadir, swap
//     the directories, start, reset binary logs, set the GTID state; a
//     failure before the server runs on the new datadir puts the old one
//     back and starts it again
func Restore(ctx context.Context, image string, target Target, opts RestoreOptions) (*Restored, error) {
	if target.Server == nil {
		return nil, &Error{Op: "restore", Err: fmt.Errorf("no target server")}
	}
	r, err := runRestore(ctx, image, target, opts)
	if err != nil {
		return nil, &Error{Op: "restore", Server: target.Server.String(), Err: err}
	}
	return r, nil
}

func runRestore(ctx context.Context, image string, target Target, opts RestoreOptions) (*Restored, error) {
	p := startProgress(opts.Progress, target.Server.String()+": verify "+image, 0, nil)
	m, err := verify(image, p)
	p.finish(doneOrFailed(err))
	if err != nil {
		return nil, fmt.Errorf("%w; the target was not touched", err)
	}
	meth, err := methodOf(m.Method)
	if err != nil {
		return nil, err
	}
	if m.Method == Physical && target.Controller == nil {
		return nil, ErrNeedsController
	}
	j := &restoreJob{target: target, m: m, payload: filepath.Join(image, PayloadDir), opts: opts,
		result: &Restored{Manifest: m}}
	if err := checkTarget(ctx, j); err != nil {
		return nil, fmt.Errorf("%w; the target was not touched", err)
	}
	if target.Server.DryRun() {
		j.result.DryRun = true
		return j.result, nil
	}
	if err := meth.restore(ctx, j); err != nil {
		return nil, err
	}
	return j.result, nil
}

// checkTarget compares the target with the image. A dump of the mysql
// schema, or a datadir, from another major.minor is not something a
// server reliably takes (system tables differ; an older server cannot
// read a newer datadir), so both must match.
func checkTarget(ctx context.Context, j *restoreJob) error {
	sv := j.target.Server
	fl, err := sv.Flavor(ctx)
	if err != nil {
		if j.m.Method == Physical && j.target.DataDir != "" {
			// Rebuilding a server that cannot start: trust the caller.
			j.fl, _ = flavor.Parse(j.m.Version)
			return nil
		}
		return err
	}
	j.fl, j.reachable = fl, true
	img, err := flavor.Parse(j.m.Version)
	if err != nil {
		return fmt.Errorf("image version: %w", err)
	}
	if img.Kind != fl.Kind || img.Major != fl.Major || img.Minor != fl.Minor {
		return fmt.Errorf("the image is of %s (%s), the target runs %s: restore into the same product and major.minor version",
			img, j.m.Server, fl)
	}
	res, err := sv.Query(ctx, fl.ShowReplicasQuery())
	if err != nil {
		return sqlStep("list its replicas", err)
	}
	if len(res.Rows) > 0 {
		return fmt.Errorf("%d replica(s) replicate from it (%s): a restore resets its binary logs under them",
			len(res.Rows), fl.ShowReplicasQuery())
	}
	return nil
}

// sqlError is a failed statement of a restore step, printed without the
// server name the surrounding Error already gives.
type sqlError struct {
	step string
	err  *server.Error
}

func (e *sqlError) Error() string {
	if e.err.Code != 0 {
		return fmt.Sprintf("%s: Error %d (%s): %s", e.step, e.err.Code, e.err.SQLState, e.err.Message)
	}
	return e.step + ": " + e.err.Message
}

func (e *sqlError) Unwrap() error { return e.err }

func sqlStep(step string, err error) error {
	if err == nil {
		return nil
	}
	var se *server.Error
	if errors.As(err, &se) {
		return &sqlError{step: step, err: se}
	}
	return fmt.Errorf("%s: %w", step, err)
}

// prepareForLoad stops replication and resets the binary logs: the target's
// old GTIDs would otherwise stay in gtid_binlog_state/gtid_executed, count
// as errant transactions against the new source, and (MariaDB with
// gtid_strict_mode) reject the source's lower sequence numbers.
func prepareForLoad(ctx context.Context, sv *server.Server, fl flavor.Flavor) error {
	st, err := sv.ReplicaStatus(ctx)
	if err != nil {
		return sqlStep("read replica status", err)
	}
	if st != nil {
		if err := sv.StopReplica(ctx, flavor.BothThreads); err != nil {
			return sqlStep("stop replication", err)
		}
	}
	_, err = sv.Exec(ctx, fl.ResetBinaryLogs())
	return sqlStep("reset binary logs", err)
}

// setGTIDState makes the target's GTID state the image's. MariaDB: a
// replica resumes from gtid_slave_pos (MASTER_USE_GTID=slave_pos), which
// neither a load without binlog nor a datadir copied from a primary sets;
// "SET GLOBAL gtid_slave_pos" needs the replica threads stopped, as they
// are. MySQL: gtid_purged is what auto-positioning sends; a dump sets it
// itself, a physical copy needs it.
func setGTIDState(ctx context.Context, sv *server.Server, fl flavor.Flavor, m *Manifest, method Method) error {
	name := "gtid_slave_pos"
	if fl.IsMySQL() {
		if method == Logical {
			return nil
		}
		name = "gtid_purged"
	}
	return sqlStep("set "+name+" to '"+m.GTID+"'", sv.SetVariable(ctx, name, m.GTID, false))
}

func (logical) restore(ctx context.Context, j *restoreJob) error {
	t, err := findTool(ctx, clientRole, j.opts.Tools.Client, j.fl)
	if err != nil {
		return err
	}
	sv := j.target.Server
	if err := prepareForLoad(ctx, sv, j.fl); err != nil {
		return err
	}
	if err := load(ctx, j, t); err != nil {
		return fmt.Errorf("%w (the target holds part of the image now; restore again)", err)
	}
	return setGTIDState(ctx, sv, j.fl, j.m, Logical)
}

// loadPrologue goes before the dump on the client's input. With
// sql_log_bin=0 the load writes no binary log, so it creates no GTIDs of
// the target's own: the restored data keeps the image's GTID state only.
// The client stops at the first error (no --force).
const loadPrologue = "SET SESSION sql_log_bin = 0;\n"

// clientArgs: --binary-mode, because a dump may hold any bytes in string
// literals and the client would otherwise read "\0" or "\C" in them as
// its own commands (MariaDB's "\-" sandbox line is still honoured).
func clientArgs() []string { return []string{"--batch", "--binary-mode"} }

func load(ctx context.Context, j *restoreJob, t tool) error {
	of, err := newOptionFile(j.target.Server.Config(), t)
	if err != nil {
		return err
	}
	defer of.cleanup()
	f, err := os.Open(filepath.Join(j.payload, dumpFile))
	if err != nil {
		return err
	}
	defer f.Close()
	p := startProgress(j.opts.Progress, j.target.Server.String()+": logical restore", j.m.Size, nil)
	cmd := exec.CommandContext(ctx, t.path, append([]string{of.arg()}, clientArgs()...)...)
	in := io.TeeReader(bufio.NewReaderSize(f, 1<<20), p)
	cmd.Stdin = io.MultiReader(strings.NewReader(loadPrologue), in)
	err = runTool(ctx, cmd, nil, of.password)
	p.finish(doneOrFailed(err))
	return err
}
