package backup

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// logical takes a dump with the client tools and loads it with the client.
type logical struct{}

// dumpArgs are the dump tool's options after --defaults-file.
//
// --single-transaction reads InnoDB tables in one consistent snapshot; with
// --master-data (or --source-data) the tool takes FLUSH TABLES WITH READ
// LOCK only for as long as it needs to start that snapshot and read the
// binlog position, so the position and the data agree. =2 writes the
// CHANGE statement as a comment: we read it, the load must not run it.
// mariadb-dump --gtid adds "-- SET GLOBAL gtid_slave_pos='…';" (at the end
// of the dump on 10.11, after mysql.gtid_slave_pos is reloaded). MySQL's
// mysqldump writes SET @@GLOBAL.GTID_PURGED itself when GTIDs are on, and
// renamed --master-data to --source-data in 8.0.26.
//
// --flush-privileges ends the dump with FLUSH PRIVILEGES: the dump carries
// the mysql schema, accounts included, and without it the restored
// accounts would take effect only at the target's next restart.
func dumpArgs(t flavor.Flavor) []string {
	args := []string{"--single-transaction", "--all-databases", "--routines", "--events", "--triggers",
		"--flush-privileges"}
	switch {
	case t.IsMariaDB():
		args = append(args, "--master-data=2", "--gtid")
	case t.AtLeast(8, 0, 26):
		args = append(args, "--source-data=2")
	default:
		args = append(args, "--master-data=2")
	}
	return args
}

func (logical) backup(ctx context.Context, j *backupJob) error {
	t, err := findTool(ctx, dumpRole, j.opts.Tools.Dump, j.fl)
	if err != nil {
		return err
	}
	j.manifest.Tool = t.String()
	if err := os.Mkdir(j.payload, 0o700); err != nil {
		return err
	}
	path := filepath.Join(j.payload, dumpFile)
	if err := dump(ctx, j, t, path); err != nil {
		return err
	}
	pos, set, err := readDumpCoordinates(path, j.fl)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	j.manifest.Position, j.manifest.GTID = pos, set
	return nil
}

func dump(ctx context.Context, j *backupJob, t tool, path string) error {
	cfg := j.src.Config()
	of, err := newOptionFile(cfg, t)
	if err != nil {
		return err
	}
	defer of.cleanup()
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	buf := bufio.NewWriterSize(out, 1<<20)
	p := startProgress(j.opts.Progress, j.src.String()+": logical backup", 0, nil)
	cmd := exec.CommandContext(ctx, t.path, append([]string{of.arg()}, dumpArgs(t.version)...)...)
	cmd.Stdout = io.MultiWriter(buf, p)
	err = runTool(ctx, cmd, nil, of.password)
	if err == nil {
		err = buf.Flush()
	}
	if err == nil {
		err = out.Sync()
	}
	p.finish(doneOrFailed(err))
	return err
}

// The header and trailer lines the dump tools write (with =2, as
// comments):
//
//	-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=1268;
//	-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000002', SOURCE_LOG_POS=157;
//	-- SET GLOBAL gtid_slave_pos='0-1-5';
//	SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5';
//	-- Dump completed on 2026-11-24  6:10:14
//
// MySQL prints a GTID set with several UUIDs over several lines.
var (
	dumpPositionRe  = regexp.MustCompile(`(?m)^-- CHANGE (?:MASTER|REPLICATION SOURCE) TO (?:MASTER|SOURCE)_LOG_FILE='([^']+)', (?:MASTER|SOURCE)_LOG_POS=([0-9]+);`)
	dumpMariaGTIDRe = regexp.MustCompile(`(?m)^-- SET GLOBAL gtid_slave_pos='([^']*)';`)
	dumpMySQLGTIDRe = regexp.MustCompile(`(?m)^SET @@GLOBAL\.GTID_PURGED=(?:/\*!80000 '\+'\*/ )?'([^']*)';`)
	dumpCompletedRe = regexp.MustCompile(`(?m)^-- Dump completed`)
)

// coordinateWindow is how much of each end of a dump is searched. The
// position comes before the first table, the completion line after the
// last, and MariaDB's GTID line after all data too, so neither end holds
// table rows we would have to scan.
const coordinateWindow = 256 << 10

// readDumpCoordinates reads the binlog position and GTID set from a
// finished dump, and refuses a dump without its completion line (a tool
// killed half-way exits non-zero, but a truncated copy would not).
func readDumpCoordinates(path string, fl flavor.Flavor) (pos, gtids string, err error) {
	head, tail, err := dumpEnds(path)
	if err != nil {
		return "", "", err
	}
	return parseDumpCoordinates(head, tail, fl)
}

func parseDumpCoordinates(head, tail string, fl flavor.Flavor) (pos, gtids string, err error) {
	if !dumpCompletedRe.MatchString(tail) {
		return "", "", fmt.Errorf(`no "-- Dump completed" line at the end: the dump is incomplete`)
	}
	both := head + "\n" + tail
	m := lastMatch(dumpPositionRe, both)
	if m == nil {
		return "", "", fmt.Errorf("no CHANGE MASTER/REPLICATION SOURCE comment with the binlog position in the dump's header")
	}
	p, err := gtid.ParsePosition(m[1] + ":" + m[2])
	if err != nil {
		return "", "", err
	}
	gre, gf := dumpMySQLGTIDRe, fl.GTIDFlavor()
	if fl.IsMariaDB() {
		gre = dumpMariaGTIDRe
	}
	text := ""
	if g := lastMatch(gre, both); g != nil {
		text = strings.Join(strings.Fields(g[1]), "") // MySQL breaks long sets after commas
	} else if fl.IsMariaDB() {
		// mariadb-dump --gtid always writes it, empty set included.
		return "", "", fmt.Errorf("no gtid_slave_pos comment in the dump (was it taken with --gtid?)")
	}
	if _, err := gtid.Parse(text, gf); err != nil {
		return "", "", fmt.Errorf("GTID set in the dump: %w", err)
	}
	return p.String(), text, nil
}

func lastMatch(re *regexp.Regexp, text string) []string {
	all := re.FindAllStringSubmatch(text, -1)
	if len(all) == 0 {
		return nil
	}
	return all[len(all)-1]
}

// dumpEnds returns the first and last coordinateWindow bytes of a file
// (the whole file twice when it is small).
func dumpEnds(path string) (head, tail string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", "", err
	}
	n := min(fi.Size(), coordinateWindow)
	hb := make([]byte, n)
	if _, err := f.ReadAt(hb, 0); err != nil && err != io.EOF {
		return "", "", err
	}
	tb := make([]byte, n)
	if _, err := f.ReadAt(tb, fi.Size()-n); err != nil && err != io.EOF {
		return "", "", err
	}
	return string(hb), string(tb), nil
}
