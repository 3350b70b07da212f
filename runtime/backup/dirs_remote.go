package backup

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/machine"
)

// remoteDirs works on the target's host through its machine: one command
// per step, POSIX sh with GNU coreutils and tar there (readlink -e,
// stat -c, mv -T), as on any Linux server.
type remoteDirs struct {
	h machine.Host
}

// inspectScript prints key=value lines about the datadir "$1" and the
// siblings "$1$2", "$1$3", ...
const inspectScript = `set -e
d=$(readlink -e -- "$1") || { printf 'datadir %s: no such file or directory\n' "$1" >&2; exit 1; }
p=$(dirname -- "$d")
shift
printf 'path=%s\n' "$d"
if [ -d "$d" ]; then echo dir=1; else echo dir=0; fi
printf 'dev=%s\n' "$(stat -c %d -- "$d")"
printf 'parentdev=%s\n' "$(stat -c %d -- "$p")"
printf 'uid=%s\n' "$(stat -c %u -- "$d")"
printf 'euid=%s\n' "$(id -u)"
printf 'free=%s\n' "$(stat -f -c '%a %S' -- "$p")"
for s in "$@"; do
  if [ -e "$d$s" ] || [ -L "$d$s" ]; then printf 'taken=%s\n' "$d$s"; fi
done`

func (r remoteDirs) inspect(ctx context.Context, datadir string, suffixes []string) (*dirFacts, error) {
	out, err := runScript(ctx, r.h, "inspect", inspectScript, append([]string{datadir}, suffixes...)...)
	if err != nil {
		return nil, onHost(r.h, err)
	}
	f, err := parseFacts(string(out))
	if err != nil {
		return nil, fmt.Errorf("datadir %s on %s: %w", datadir, r.h, err)
	}
	return f, nil
}

// parseFacts reads inspectScript's output.
func parseFacts(out string) (*dirFacts, error) {
	f := &dirFacts{uid: -1, euid: -1}
	kv := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		if k == "taken" {
			f.taken = append(f.taken, v)
			continue
		}
		kv[k] = v
	}
	num := func(k string) (int64, error) {
		n, err := strconv.ParseInt(kv[k], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s=%q: %w", k, kv[k], err)
		}
		return n, nil
	}
	var errs []error
	get := func(k string) int64 {
		n, err := num(k)
		errs = append(errs, err)
		return n
	}
	f.path, f.isDir = kv["path"], kv["dir"] == "1"
	f.mountPoint = get("dev") != get("parentdev")
	f.uid, f.euid = int(get("uid")), int(get("euid"))
	avail, bsize, _ := strings.Cut(kv["free"], " ")
	blocks, err1 := strconv.ParseInt(avail, 10, 64)
	size, err2 := strconv.ParseInt(bsize, 10, 64)
	f.free = blocks * size
	if err := errors.Join(append(errs, err1, err2)...); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(f.path) {
		return nil, fmt.Errorf("resolved to %q", f.path)
	}
	return f, nil
}

// fill streams the image's files as a tar archive through the machine
// into dir: the same files --copy-back would write, with their modes.
func (r remoteDirs) fill(ctx context.Context, j *restoreJob, dir string) error {
	entries, total, err := copyBackEntries(j.payload)
	if err != nil {
		return err
	}
	// mkdir fails if dir exists; tar keeps the modes (-p) and leaves the
	// owner to adopt.
	if _, err := r.h.Run(ctx, []string{"mkdir", "-m", "700", "--", dir}); err != nil {
		return onHost(r.h, err)
	}
	p := startProgress(j.opts.Progress, j.target.Server.String()+": physical restore through "+r.h.String(), total, nil)
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		pw.CloseWithError(writeTar(pw, j.payload, entries, p))
		close(done)
	}()
	err = r.h.RunStream(ctx, []string{"tar", "-x", "-p", "--no-same-owner", "-f", "-", "-C", dir}, pr, nil)
	// A command that ended early leaves writeTar blocked on the pipe.
	pr.CloseWithError(errors.New("the copy ended"))
	<-done
	p.finish(doneOrFailed(err))
	if err != nil {
		return fmt.Errorf("copy: %w", onHost(r.h, err))
	}
	return nil
}

const adoptScript = `set -e
chmod "$(stat -c %a -- "$1")" -- "$2"
if [ "$(id -u)" = 0 ]; then chown -R -- "$(stat -c %u:%g -- "$1")" "$2"; fi`

func (r remoteDirs) adopt(ctx context.Context, datadir, dir string) error {
	if _, err := runScript(ctx, r.h, "owner and mode", adoptScript, datadir, dir); err != nil {
		return onHost(r.h, err)
	}
	return nil
}

// rename: mv -T never moves into an existing directory, and within one
// filesystem (planSwap checked it) it is rename(2).
func (r remoteDirs) rename(ctx context.Context, from, to string) error {
	if _, err := r.h.Run(ctx, []string{"mv", "-T", "--", from, to}); err != nil {
		return onHost(r.h, err)
	}
	return nil
}

func (r remoteDirs) removeAll(ctx context.Context, path string) error {
	if _, err := r.h.Run(ctx, []string{"rm", "-rf", "--", path}); err != nil {
		return onHost(r.h, err)
	}
	return nil
}

// runScript runs a sh script on h with args as "$1"...; its errors show
// the script as <name script>: its text would bury the reason.
func runScript(ctx context.Context, h machine.Host, name, script string, args ...string) ([]byte, error) {
	out, err := h.Run(ctx, append([]string{"sh", "-c", script, "sh"}, args...))
	if ce, ok := errors.AsType[*machine.CommandError](err); ok {
		ce.Argv = append([]string{"sh", "-c", "<" + name + " script>", "sh"}, args...)
	}
	return out, err
}

// onHost names h in err, unless h is a machine: those name themselves.
func onHost(h machine.Host, err error) error {
	if _, ok := h.(machine.Machine); ok {
		return err
	}
	return fmt.Errorf("on %s: %w", h, err)
}

// tarEntry is one file or directory of the image, by its path relative
// to the payload.
type tarEntry struct {
	rel  string
	info fs.FileInfo
}

// copyBackSkips are the endings of the file names --copy-back leaves out
// (mariadb-backup's backup_copy.cc, copy_back()): the tool's own
// metadata, and files of compressed or temporary copies.
var copyBackSkips = []string{"backup-my.cnf", "xtrabackup_binary", "xtrabackup_binlog_info", "xtrabackup_checkpoints",
	".qp", ".pmap", ".tmp"}

// copyBackEntries lists the payload as --copy-back copies it, with the
// bytes to send. An empty ib_logfile0 is left out too: copy-back then
// leaves the datadir without a redo log, and the server creates one.
func copyBackEntries(payload string) ([]tarEntry, int64, error) {
	var entries []tarEntry
	var total int64
	err := filepath.WalkDir(payload, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == payload {
			return err
		}
		rel, _ := filepath.Rel(payload, path)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
		case fi.Mode().IsRegular():
			for _, sfx := range copyBackSkips {
				if strings.HasSuffix(d.Name(), sfx) {
					return nil
				}
			}
			if rel == "ib_logfile0" && fi.Size() == 0 {
				return nil
			}
			total += fi.Size()
		default:
			return fmt.Errorf("%s: a %s in a prepared image, not a file or directory", path, fi.Mode().Type())
		}
		entries = append(entries, tarEntry{rel: filepath.ToSlash(rel), info: fi})
		return nil
	})
	return entries, total, err
}

// writeTar writes entries as a tar archive, counting file bytes into p.
// Owners are left out: the host gives the files the datadir's.
func writeTar(w io.Writer, root string, entries []tarEntry, p *progress) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.rel, Mode: int64(e.info.Mode().Perm()), ModTime: e.info.ModTime().Truncate(time.Second)}
		if e.info.IsDir() {
			hdr.Typeflag, hdr.Name = tar.TypeDir, e.rel+"/"
		} else {
			hdr.Typeflag, hdr.Size = tar.TypeReg, e.info.Size()
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if e.info.IsDir() {
			continue
		}
		if err := copyFileInto(tw, filepath.Join(root, filepath.FromSlash(e.rel)), p); err != nil {
			return err
		}
	}
	return tw.Close()
}

func copyFileInto(w io.Writer, path string, p *progress) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, io.TeeReader(f, p)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
