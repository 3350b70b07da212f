package backup

import (
	"fmt"
	"github.com/replicant-lua/replicant-lua/runtime/machine"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progressEvery is the shortest interval between two progress lines.
var progressEvery = time.Second

// progress writes "db2 (127.0.0.1:3307): logical backup: 12.3 MiB, 4s"
// lines to w at most once per progressEvery while a long step runs, and a
// last line when it ends. Bytes come from Write (a stream we copy) or from
// poll (files a tool writes itself). A nil *progress and a nil writer are
// both silent.
type progress struct {
	w     io.Writer
	label string
	total int64 // 0 when unknown
	poll  func() int64
	start time.Time
	bytes atomic.Int64
	stop  chan struct{}
	done  chan struct{}
}

func startProgress(w io.Writer, label string, total int64, poll func() int64) *progress {
	p := &progress{w: w, label: label, total: total, poll: poll, start: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
	if w == nil {
		close(p.done)
		return p
	}
	go p.run()
	return p
}

// Write counts bytes passing through; it never fails, so it can sit in an
// io.MultiWriter next to the real destination.
func (p *progress) Write(b []byte) (int, error) {
	if p != nil {
		p.bytes.Add(int64(len(b)))
	}
	return len(b), nil
}

func (p *progress) run() {
	defer close(p.done)
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			fmt.Fprintln(p.w, p.line())
		}
	}
}

func (p *progress) current() int64 {
	if p.poll != nil {
		return p.poll()
	}
	return p.bytes.Load()
}

func (p *progress) line() string {
	n := p.current()
	elapsed := time.Since(p.start).Round(100 * time.Millisecond)
	if p.total > 0 {
		return fmt.Sprintf("%s: %s of %s (%d%%), %s", p.label, mib(n), mib(p.total), n*100/p.total, elapsed)
	}
	return fmt.Sprintf("%s: %s, %s", p.label, mib(n), elapsed)
}

// finish stops the ticker and, when w is set, writes the last line with
// outcome ("done", "failed").
func (p *progress) finish(outcome string) {
	if p == nil {
		return
	}
	select {
	case <-p.stop:
		return // finished already
	default:
		close(p.stop)
	}
	<-p.done
	if p.w != nil {
		fmt.Fprintf(p.w, "%s %s\n", p.line(), outcome)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// dirSize sums the sizes of the regular files under dir; errors (a file
// removed while we walk) only make the figure approximate.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// tailBuffer keeps the last max bytes written to it: a tool's stderr, to
// quote in an error without holding a verbose log in memory.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func newTail() *tailBuffer { return &tailBuffer{max: 16 << 10} }

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

// lines returns the last n non-empty lines with every secret replaced.
// The tools never get a password on their command line or environment,
// but a server's error could still echo one back.
func (t *tailBuffer) lines(n int, secrets ...string) string {
	t.mu.Lock()
	text := string(t.buf)
	t.mu.Unlock()
	return scrub(machine.LastLines(text, n), secrets...)
}

func scrub(text string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "******")
		}
	}
	return text
}
