package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// Names inside an image directory.
const (
	ManifestFile = "manifest.json"
	PayloadDir   = "payload" // everything the checksum covers
	dumpFile     = "dump.sql"
	toolLog      = "tool.log" // the backup tool's stderr, outside the payload
)

// manifestFormat is bumped when a reader of an older format could misread
// a newer manifest.
const manifestFormat = 1

// Manifest describes one image: where it came from, the replication
// coordinates it is consistent with, and a checksum of every payload file.
type Manifest struct {
	Format  int    `json:"format"`
	Method  Method `json:"method"`
	Server  string `json:"server"`  // the deployment's name for the source
	Address string `json:"address"` // host:port or socket of the source
	Flavor  string `json:"flavor"`  // "mariadb" or "mysql"
	Version string `json:"version"` // the source's @@version
	Tool    string `json:"tool"`    // "mariadb-dump 10.11.19-MariaDB"

	// Position is the source's own binlog file:pos at the consistent
	// point; GTID is the GTID set the data contains (MariaDB: the
	// gtid_binlog_pos a replica restored from it continues after; MySQL:
	// gtid_executed).
	Position string `json:"position"`
	GTID     string `json:"gtid"`

	Created  time.Time `json:"created"`
	Seconds  float64   `json:"seconds"`      // how long the backup took
	Size     int64     `json:"payload_size"` // bytes, sum of Files
	SHA256   string    `json:"sha256"`       // of the file list below (see listingSum)
	Files    []File    `json:"files"`
	ImageDir string    `json:"-"` // where the image was read from or written to
}

// File is one payload file: its path under payload/ with slashes, its size
// and its SHA-256.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// BinlogPosition parses Position.
func (m *Manifest) BinlogPosition() (gtid.Position, error) {
	return gtid.ParsePosition(m.Position)
}

// GTIDSet parses GTID in the image's flavor.
func (m *Manifest) GTIDSet() (gtid.Set, error) {
	return gtid.Parse(m.GTID, flavor.GTIDFlavorOf(m.Flavor == "mariadb"))
}

// ErrCorrupt is wrapped by every verification failure: a missing or
// unreadable manifest, a missing, extra, truncated or altered payload file.
var ErrCorrupt = errors.New("image is corrupt or incomplete")

// corrupt names the image and what is wrong with it.
func corrupt(image, format string, args ...any) error {
	return fmt.Errorf("image %s: %s: %w", image, fmt.Sprintf(format, args...), ErrCorrupt)
}

// ReadManifest reads image/manifest.json without checking the payload.
func ReadManifest(image string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(image, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, corrupt(image, "no %s (an unfinished backup, or not an image)", ManifestFile)
	}
	if err != nil {
		return nil, corrupt(image, "%v", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, corrupt(image, "%s: %v", ManifestFile, err)
	}
	switch {
	case m.Format != manifestFormat:
		return nil, corrupt(image, "%s: format %d, this version reads format %d", ManifestFile, m.Format, manifestFormat)
	case m.Method != Logical && m.Method != Physical:
		return nil, corrupt(image, "%s: unknown method %q", ManifestFile, m.Method)
	case len(m.Files) == 0:
		return nil, corrupt(image, "%s: lists no payload file", ManifestFile)
	}
	m.ImageDir = image
	return &m, nil
}

// Verify reads the manifest and recomputes the checksum of every payload
// file. It reports the first problem: a missing manifest, a file missing
// or not listed, a size that differs (truncated), a SHA-256 that differs
// (altered).
func Verify(image string) (*Manifest, error) {
	return verify(image, nil)
}

func verify(image string, p *progress) (*Manifest, error) {
	m, err := ReadManifest(image)
	if err != nil {
		return nil, err
	}
	files, err := sumPayload(filepath.Join(image, PayloadDir), p)
	if err != nil {
		return nil, corrupt(image, "%v", err)
	}
	if err := compareFiles(m.Files, files); err != nil {
		return nil, corrupt(image, "%v", err)
	}
	if got := listingSum(files); got != m.SHA256 {
		return nil, corrupt(image, "checksum of the file list is %s, %s says %s", got, ManifestFile, m.SHA256)
	}
	return m, nil
}

// compareFiles reports the first difference between what the manifest
// lists and what is on disk; both are sorted by path.
func compareFiles(want, got []File) error {
	have := make(map[string]File, len(got))
	for _, f := range got {
		have[f.Path] = f
	}
	for _, w := range want {
		g, ok := have[w.Path]
		switch {
		case !ok:
			return fmt.Errorf("%s/%s: missing", PayloadDir, w.Path)
		case g.Size != w.Size:
			return fmt.Errorf("%s/%s: %d bytes, %s says %d (truncated or altered)", PayloadDir, w.Path, g.Size, ManifestFile, w.Size)
		case g.SHA256 != w.SHA256:
			return fmt.Errorf("%s/%s: SHA-256 %s, %s says %s (altered)", PayloadDir, w.Path, short(g.SHA256), ManifestFile, short(w.SHA256))
		}
		delete(have, w.Path)
	}
	for _, f := range got {
		if _, extra := have[f.Path]; extra {
			return fmt.Errorf("%s/%s: not listed in %s", PayloadDir, f.Path, ManifestFile)
		}
	}
	return nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}

// sumPayload hashes every regular file under dir, sorted by path. Anything
// else (a symlink, a device) is refused: restore copies the payload into a
// datadir and must not follow a link out of it.
func sumPayload(dir string, p *progress) ([]File, error) {
	var files []File
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s/%s: not a regular file (%s)", PayloadDir, rel, d.Type())
		}
		f, err := hashFile(path, p)
		if err != nil {
			return err
		}
		f.Path = rel
		files = append(files, f)
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) && len(files) == 0 {
		return nil, fmt.Errorf("no %s directory", PayloadDir)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, err
}

func hashFile(path string, p *progress) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	var w io.Writer = h
	if p != nil {
		w = io.MultiWriter(h, p)
	}
	n, err := io.Copy(w, f)
	if err != nil {
		return File{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// listingSum is the image's checksum: SHA-256 over one line per file,
// "sha256  size  path\n", in path order. It covers every byte of the
// payload (through each file's hash) and the set of files itself.
func listingSum(files []File) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s  %d  %s\n", f.SHA256, f.Size, f.Path)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// seal hashes the payload, fills in the manifest's file list, size and
// checksum, and writes manifest.json last and atomically: an image with a
// manifest is a finished one.
func seal(image string, m *Manifest, p *progress) error {
	files, err := sumPayload(filepath.Join(image, PayloadDir), p)
	if err != nil {
		return err
	}
	m.Files = files
	m.Size = 0
	for _, f := range files {
		m.Size += f.Size
	}
	m.SHA256 = listingSum(files)
	m.Format = manifestFormat
	m.ImageDir = image
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(image, "."+ManifestFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(image, ManifestFile))
}

// describe is "db2 (127.0.0.1:3307) at mysql-bin.000001:1268, gtid 0-1-5"
// for messages.
func (m *Manifest) describe() string {
	var b strings.Builder
	b.WriteString(m.Server)
	if m.Address != "" && m.Address != m.Server {
		b.WriteString(" (" + m.Address + ")")
	}
	fmt.Fprintf(&b, " at %s, gtid %q", m.Position, m.GTID)
	return b.String()
}
