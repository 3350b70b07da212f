package harness

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// lookupWait bounds one lookup of the writable server while some server
// has not answered: its probe goes on, and its answer counts in a later
// lookup, so that a stopped server does not lengthen the outage the writer
// measures, and a slow one is still found.
const lookupWait = 100 * time.Millisecond

// findWritable returns the first server to answer read_only = 0 (to this
// lookup's probe or to an earlier one's still running), or, once every
// probe answered or lookupWait passed, an error naming what each answered.
func (w *Writer) findWritable(ctx context.Context) (string, error) {
	answers := w.probe(ctx)
	timer := time.NewTimer(lookupWait)
	defer timer.Stop()
	for waiting := true; waiting && w.pending > 0; {
		select {
		case p := <-w.results:
			w.answered(p)
			answers[p.i] = p.answer
			if p.writable {
				return w.o.Servers[p.i], nil
			}
		case <-timer.C:
			waiting = false
		}
	}
	return "", fmt.Errorf("no writable server (%s)", strings.Join(answers, "; "))
}

// writableServers waits for the answers of earlier probes, then asks
// every server afresh and waits for all answers: the servers with
// read_only = 0, in the order of Servers. None is an error naming what
// each answered.
func (w *Writer) writableServers(ctx context.Context) ([]string, error) {
	for w.pending > 0 {
		w.answered(<-w.results) // each probe ends within connect+read
	}
	answers := w.probe(ctx)
	writable := make([]bool, len(w.o.Servers))
	for w.pending > 0 {
		p := <-w.results
		w.answered(p)
		answers[p.i], writable[p.i] = p.answer, p.writable
	}
	var found []string
	for i, ok := range writable {
		if ok {
			found = append(found, w.o.Servers[i])
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no writable server (%s)", strings.Join(answers, "; "))
	}
	return found, nil
}

// probed is one server's answer to SELECT @@read_only.
type probed struct {
	i        int // in Servers
	writable bool
	answer   string // "host:port: read_only=1", or the error
}

// probe asks every server that has no probe running for @@read_only, at
// once, each bounded by the per-write timeouts; the answers come on
// w.results (room for one per server). It returns the answers of the
// servers still busy with an earlier probe. probe, answered and the
// fields they keep are the loop's (then Stop's): no lock.
func (w *Writer) probe(ctx context.Context) []string {
	answers := make([]string, len(w.o.Servers))
	for i, addr := range w.o.Servers {
		if w.probing[i] {
			answers[i] = addr + ": no answer yet"
			continue
		}
		w.probing[i] = true
		w.pending++
		answers[i] = fmt.Sprintf("%s: no answer within %s", addr, lookupWait)
		db := w.db(addr)
		go func() {
			qctx, cancel := context.WithTimeout(ctx, w.connect+w.read)
			defer cancel()
			var ro int
			if err := db.QueryRowContext(qctx, "SELECT @@read_only").Scan(&ro); err != nil {
				w.results <- probed{i: i, answer: fmt.Sprintf("%s: %v", addr, err)}
				return
			}
			w.results <- probed{i: i, writable: ro == 0, answer: fmt.Sprintf("%s: read_only=%d", addr, ro)}
		}()
	}
	return answers
}

func (w *Writer) answered(p probed) {
	w.probing[p.i] = false
	w.pending--
}
