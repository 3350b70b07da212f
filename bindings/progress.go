package bindings

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Waits that last say how they go, on a terminal only: after
// progressAfter, then every progressEvery, one line each, so that a
// minute's wait prints a dozen lines, not thousands.
const (
	progressAfter = 2 * time.Second
	progressEvery = 5 * time.Second
)

// progress writes a line now and then about each wait that lasts:
// "waiting for db2 to apply 0-1-1234: 812 transactions behind, 3 s of 30 s".
type progress struct {
	w            io.Writer
	after, every time.Duration
	mu           sync.Mutex // one line at a time: waits run in parallel
}

// newProgress is the run's progress reporter, or nil (no Progress
// interface at all, so servers skip it) when w is nil.
func newProgress(w io.Writer) server.Progress {
	if w == nil {
		return nil
	}
	return &progress{w: w, after: progressAfter, every: progressEvery}
}

// Begin starts a timer that prints the wait's line after p.after and
// then every p.every, until End.
func (p *progress) Begin(what string, timeout time.Duration) server.ProgressWait {
	pw := &progressWait{p: p, what: what, timeout: timeout, start: time.Now()}
	pw.timer = time.AfterFunc(p.after, pw.tick)
	return pw
}

type progressWait struct {
	p       *progress
	what    string
	timeout time.Duration
	start   time.Time

	mu    sync.Mutex // guards how, ended, timer
	how   string
	ended bool
	timer *time.Timer
}

func (pw *progressWait) Update(how string) {
	pw.mu.Lock()
	pw.how = how
	pw.mu.Unlock()
}

// End stops the timer; a line being written finishes first, and none
// follows.
func (pw *progressWait) End() {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.ended = true
	pw.timer.Stop()
}

func (pw *progressWait) tick() {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.ended {
		return
	}
	pw.p.print(pw.line(time.Since(pw.start)))
	pw.timer.Reset(pw.p.every)
}

func (pw *progressWait) line(elapsed time.Duration) string {
	line := pw.what + ": "
	if pw.how != "" {
		line += pw.how + ", "
	}
	line += seconds(elapsed)
	if pw.timeout > 0 {
		line += " of " + seconds(pw.timeout)
	}
	return line
}

func (p *progress) print(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, line)
}

// seconds is "3 s", or "0.5 s" under a second.
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d s", int64(d.Round(time.Second)/time.Second))
}
