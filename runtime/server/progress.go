package server

import (
	"context"
	"fmt"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

// Progress hears about waits, so that an operator watching a terminal
// sees what a long one waits for and how far it is. Begin is called as a
// wait starts, with what it waits for ("waiting for db2 to apply 0-1-1234")
// and its timeout (0: none known). What to show, and when, is the
// implementation's business; it must be safe for concurrent use, since
// servers wait in parallel.
type Progress interface {
	Begin(what string, timeout time.Duration) ProgressWait
}

// ProgressWait is one wait under way. Update says how far it is, in words
// ("812 transactions behind"), each time the wait looks at the server; End
// says it is over, after which nothing more of it may be shown.
type ProgressWait interface {
	Update(how string)
	End()
}

// SetProgress makes p hear about this server's waits from now on; nil
// silences them.
func (s *Server) SetProgress(p Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.progress = p
}

// BeginWait starts reporting a wait of this server's (the machine that
// starts it waits too): a ProgressWait that does nothing when no Progress
// is set.
func (s *Server) BeginWait(what string, timeout time.Duration) ProgressWait {
	s.mu.Lock()
	p := s.progress
	s.mu.Unlock()
	if p == nil {
		return quiet{}
	}
	return p.Begin(what, timeout)
}

type quiet struct{}

func (quiet) Update(string) {}
func (quiet) End()          {}

// shownTimeout is the timeout a progress line names: the caller's, or what
// the run has left, or none.
func shownTimeout(ctx context.Context, timeout time.Duration) time.Duration {
	if timeout > 0 {
		return timeout
	}
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl).Round(time.Second)
	}
	return 0
}

// gtidBehind describes how far a replica's applier is from target, from
// one status row.
func gtidBehind(target gtid.Set, st *flavor.ReplicaStatus) string {
	if st == nil {
		return ""
	}
	have, err := gtid.Parse(st.ExecutedGTIDs, target.Flavor())
	if err != nil {
		return ""
	}
	n, err := target.Behind(have)
	if err != nil {
		return ""
	}
	return plural(n, "transaction") + " behind"
}

// positionBehind describes how far a replica's applier is from pos of its
// source's binary log: bytes within the same file, else where it is.
func positionBehind(pos gtid.Position, st *flavor.ReplicaStatus) string {
	if st == nil {
		return ""
	}
	at := gtid.Position(st.ExecPosition)
	if at.File == pos.File && at.Pos <= pos.Pos {
		return plural(pos.Pos-at.Pos, "byte") + " behind"
	}
	return "applied up to " + at.String()
}

func plural(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
