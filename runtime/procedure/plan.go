package procedure

import (
	"fmt"
	"io"
	"sync"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Plan collects what a dry run did not do: every statement the allowlist
// refused, every machine action, option-file write, shell hook, backup and
// restore (server.Statement with Planned set). It also keeps the reads
// that ran on a server after a change to it was skipped (Unverified):
// their answers describe the server without that change, so whatever the
// procedure decided from them is not verified by the dry run.
type Plan struct {
	mu         sync.Mutex
	items      []server.Statement
	unverified []unverifiedRead
}

type unverifiedRead struct {
	st    server.Statement
	count int
}

// Statement implements server.Observer.
func (p *Plan) Statement(st server.Statement) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case st.Planned:
		p.items = append(p.items, st)
	case st.Unverified:
		for i := range p.unverified {
			if u := &p.unverified[i]; u.st.Server == st.Server && u.st.SQL == st.SQL {
				u.count++ // a poll loop reads the same thing many times
				return
			}
		}
		p.unverified = append(p.unverified, unverifiedRead{st: st, count: 1})
	}
}

// Len is the number of changes recorded.
func (p *Plan) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}

// Statements returns a copy of the changes recorded, in order.
func (p *Plan) Statements() []server.Statement {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]server.Statement(nil), p.items...)
}

// Unverified returns the distinct reads that ran after a skipped change
// to their server, in the order first seen.
func (p *Plan) Unverified() []server.Statement {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]server.Statement, len(p.unverified))
	for i, u := range p.unverified {
		out[i] = u.st
	}
	return out
}

// Print writes the plan: one numbered change per line with its server and
// kind, then the unverified reads.
func (p *Plan) Print(w io.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.items) == 0 {
		fmt.Fprintln(w, "dry run: nothing would change (no statement, machine action, file, hook, backup or restore)")
	} else {
		fmt.Fprintf(w, "dry run: %d change(s) would be made:\n", len(p.items))
		for i, st := range p.items {
			fmt.Fprintf(w, "%3d. %s\n", i+1, describe(st))
		}
	}
	if len(p.unverified) == 0 {
		return
	}
	fmt.Fprintf(w, "dry run: %d statement(s) ran after a skipped change to their server; their answers are unverified:\n",
		len(p.unverified))
	for _, u := range p.unverified {
		times := ""
		if u.count > 1 {
			times = fmt.Sprintf(" (%d times)", u.count)
		}
		fmt.Fprintf(w, "     %s%s\n", describe(u.st), times)
	}
}

// describe is "db1 (127.0.0.1:3307): SET GLOBAL read_only = ON", with
// the kind of a change that is not SQL: "db1 (...): machine: restart".
func describe(st server.Statement) string {
	what := st.SQL
	if st.Kind != "" {
		what = st.Kind + ": " + what
	}
	if st.Server == "" {
		return what
	}
	return st.Server + ": " + what
}
