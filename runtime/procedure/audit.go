package procedure

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Audit writes one JSON object per line for a run: a header (run_start)
// and a footer (run_end), every statement the run's servers execute, every
// procedure, step, undo and rollback as it starts and ends, every machine
// action and option-file write. Each line carries the run's id, so runs
// appended to one file can be told apart. README.md, "Audit trail",
// documents the lines.
//
// Secrets stay out: statements arrive with password literals redacted
// (server.Statement) and placeholder values of password statements
// replaced; the command line and option-file values are redacted by name
// (SecretName); and every line is scrubbed of the secrets given to Scrub
// (the deployment's passwords) as a last resort.
type Audit struct {
	mu      sync.Mutex
	w       io.Writer
	err     error
	runID   string
	start   time.Time
	secrets [][]byte // each secret as written, and as JSON escapes it
}

// NewAudit writes to w, for a run with a fresh id.
func NewAudit(w io.Writer) *Audit {
	return &Audit{w: w, runID: NewRunID(), start: time.Now()}
}

// NewRunID is a run's id: its start time in UTC, to the second, and 8
// random hex digits, so that two runs started in the same second differ
// and ids sort by time.
func NewRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// RunID is the id every line of this run carries.
func (a *Audit) RunID() string { return a.runID }

// minSecret is the shortest secret Scrub replaces: replacing every "a" or
// "pw" in the log would make it unreadable and hide nothing.
const minSecret = 4

// Scrub makes every later line replace each of secrets with "<redacted>",
// wherever it appears.
func (a *Audit) Scrub(secrets ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		a.secrets = append(a.secrets, []byte(s))
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if enc.Encode(s) == nil {
			if j := bytes.TrimSpace(buf.Bytes()); string(j[1:len(j)-1]) != s {
				a.secrets = append(a.secrets, j[1:len(j)-1])
			}
		}
	}
}

type auditStatement struct {
	RunID      string  `json:"run_id"`
	Time       string  `json:"time"`
	Type       string  `json:"type"`
	Server     string  `json:"server"`
	SQL        string  `json:"sql"`
	Args       int     `json:"args,omitempty"`
	Values     []any   `json:"values,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	Rows       int64   `json:"rows"`
	Error      string  `json:"error,omitempty"`
	Planned    bool    `json:"planned,omitempty"`
	Kind       string  `json:"kind,omitempty"`
	Unverified bool    `json:"unverified,omitempty"`
}

// Statement implements server.Observer. A dry run's planned machine
// action or file write is left out: the machine reports it itself, with
// more (Machine, FileWrite).
func (a *Audit) Statement(st server.Statement) {
	if st.Planned && (st.Kind == server.KindMachine || st.Kind == server.KindFile) {
		return
	}
	rec := auditStatement{
		RunID: a.runID, Time: timestamp(st.Start), Type: "statement", Server: st.Server, SQL: st.SQL,
		Args: st.Args, Values: st.Values, DurationMS: Milliseconds(st.Duration), Rows: st.Rows, Planned: st.Planned,
		Kind: st.Kind, Unverified: st.Unverified,
	}
	if st.Kind != "" {
		rec.Type = st.Kind
	}
	if st.Kind == server.KindShell {
		rec.SQL = RedactCommand([]string{st.SQL})[0] // a hook's command line may carry a secret
	}
	if st.Err != nil {
		rec.Error = st.Err.Error()
	}
	a.write(rec)
}

// Event records a procedure event: "procedure", "step", "undo",
// "rollback", "point_of_no_return", "log", "shell" and the like, with a
// name and free-form details.
func (a *Audit) Event(typ, name string, details map[string]any) {
	rec := map[string]any{"run_id": a.runID, "time": timestamp(time.Now()), "type": typ}
	if name != "" {
		rec["name"] = name
	}
	for k, v := range details {
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		rec[k] = v
	}
	a.write(rec)
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (a *Audit) write(v any) {
	// Not json.Marshal: it writes "<redacted>" as "\u003credacted\u003e".
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	line := buf.Bytes()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return
	}
	if err != nil {
		a.err = err
		return
	}
	for _, s := range a.secrets {
		line = bytes.ReplaceAll(line, s, []byte(server.Redacted))
	}
	_, a.err = a.w.Write(line)
}

// Err is the first write error, if any: an audit that could not be
// written must not pass silently.
func (a *Audit) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// Observers fans statements out to several observers.
type Observers []server.Observer

// Statement implements server.Observer.
func (os Observers) Statement(st server.Statement) {
	for _, o := range os {
		o.Statement(st)
	}
}
