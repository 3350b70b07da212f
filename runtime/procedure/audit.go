package procedure

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// Audit writes one JSON object per line for every statement the run's
// servers execute and every step, undo and milestone of the procedure.
// Statements arrive with passwords already redacted (server.Statement),
// and placeholder values are never written: only their count.
type Audit struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// NewAudit writes to w.
func NewAudit(w io.Writer) *Audit {
	return &Audit{enc: json.NewEncoder(w)}
}

type auditStatement struct {
	Time       string  `json:"time"`
	Type       string  `json:"type"`
	Server     string  `json:"server"`
	SQL        string  `json:"sql"`
	Args       int     `json:"args,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	Rows       int64   `json:"rows"`
	Error      string  `json:"error,omitempty"`
	Planned    bool    `json:"planned,omitempty"`
	Kind       string  `json:"kind,omitempty"`
	Unverified bool    `json:"unverified,omitempty"`
}

// Statement implements server.Observer.
func (a *Audit) Statement(st server.Statement) {
	rec := auditStatement{
		Time: st.Start.UTC().Format(time.RFC3339Nano), Type: "statement", Server: st.Server, SQL: st.SQL,
		Args: st.Args, DurationMS: float64(st.Duration.Microseconds()) / 1000, Rows: st.Rows, Planned: st.Planned,
		Kind: st.Kind, Unverified: st.Unverified,
	}
	if st.Kind != "" {
		rec.Type = st.Kind
	}
	if st.Err != nil {
		rec.Error = st.Err.Error()
	}
	a.write(rec)
}

// Event records a procedure event: "step", "undo", "point_of_no_return",
// "log", "shell" and the like, with a name and free-form details.
func (a *Audit) Event(typ, name string, details map[string]any) {
	rec := map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "type": typ, "name": name}
	for k, v := range details {
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		rec[k] = v
	}
	a.write(rec)
}

func (a *Audit) write(v any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err == nil {
		a.err = a.enc.Encode(v)
	}
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
