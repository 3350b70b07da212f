package bindings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/server"
	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

// maxJSONDepth bounds nesting, so a table that holds itself ends in null
// instead of recursing for ever.
const maxJSONDepth = 32

// jsonValue turns a Lua value into something encoding/json writes:
// tables with keys 1..n become arrays (an empty table too), other tables
// objects; a server is its
// name; GTID sets and positions are their text; a topology is its nodes and
// problems; rep.null and functions are null (functions are left out of
// objects). Error objects are tables already and come out with their
// fields.
func (s *State) jsonValue(v lua.LValue) any {
	return s.jsonAt(v, 0, map[*lua.LTable]bool{})
}

func (s *State) jsonAt(v lua.LValue, depth int, path map[*lua.LTable]bool) any {
	if depth > maxJSONDepth {
		return nil
	}
	switch x := v.(type) {
	case lua.LBool:
		return bool(x)
	case lua.LString:
		return string(x)
	case lua.LNumber:
		f := float64(x)
		switch { // JSON has no inf or nan: write them as Lua prints them
		case math.IsInf(f, 1):
			return "inf"
		case math.IsInf(f, -1):
			return "-inf"
		case math.IsNaN(f):
			return "nan"
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f)
		}
		return f
	case *lua.LUserData:
		return s.jsonUserData(x, depth, path)
	case *lua.LTable:
		return s.jsonTable(x, depth, path)
	}
	return nil // nil, functions, coroutines, channels
}

func (s *State) jsonUserData(ud *lua.LUserData, depth int, path map[*lua.LTable]bool) any {
	if ud == s.null {
		return nil
	}
	switch x := ud.Value.(type) {
	case *server.Server:
		if x.Name() != "" {
			return x.Name()
		}
		return x.Address()
	case *topology.Topology:
		out := map[string]any{"primary": nil, "nodes": s.jsonAt(s.nodeList(s.L, x), depth+1, path),
			"problems": s.jsonAt(s.problemList(s.L, x), depth+1, path)}
		if p := x.Primary(); p != nil {
			out["primary"] = p.Name
		}
		return out
	case fmt.Stringer:
		return x.String()
	}
	return s.L.ToStringMeta(ud).String()
}

func (s *State) jsonTable(t *lua.LTable, depth int, path map[*lua.LTable]bool) any {
	t = unproxy(t)
	if path[t] {
		return nil
	}
	path[t] = true
	defer delete(path, t)
	n := arrayLen(t)
	count := 0
	t.ForEach(func(lua.LValue, lua.LValue) { count++ })
	if n == count { // an empty table too: in our API that is an empty list
		arr := make([]any, n)
		for i := 1; i <= n; i++ {
			arr[i-1] = s.jsonAt(t.RawGetInt(i), depth+1, path)
		}
		return arr
	}
	obj := make(map[string]any, count)
	t.ForEach(func(k, v lua.LValue) {
		switch v.(type) {
		case *lua.LFunction, *lua.LState:
			return
		}
		obj[s.L.ToStringMeta(k).String()] = s.jsonAt(v, depth+1, path)
	})
	return obj
}

// repToJSON is rep.to_json(value): the value as one line of JSON, under
// the same rules as --json output.
func (s *State) repToJSON(L *lua.LState) int {
	b, err := json.Marshal(s.jsonValue(L.Get(1)))
	if err != nil {
		L.RaiseError("to_json: %v", err)
	}
	L.Push(lua.LString(b))
	return 1
}

// Outcome is what `--json` prints: one JSON object on stdout after the
// run, whatever happened.
type Outcome struct {
	OK       bool          `json:"ok"`
	ExitCode int           `json:"exit_code"`
	Result   any           `json:"result"`          // what the playbook or procedure returned
	Error    *OutcomeErr   `json:"error,omitempty"` // why it failed
	Steps    []OutcomeStep `json:"steps,omitempty"` // the procedure's journal
	// PastPointOfNoReturn is true when the procedure failed after
	// rep.point_of_no_return: nothing was undone, Recovery says how to
	// finish the job.
	PastPointOfNoReturn bool               `json:"past_point_of_no_return,omitempty"`
	Recovery            string             `json:"recovery,omitempty"`
	Plan                []OutcomeStatement `json:"plan,omitempty"` // --dry-run: what would have run
	// Unverified are the reads a dry run ran on a server after skipping a
	// change to it: what was decided from them is not verified.
	Unverified []OutcomeStatement `json:"unverified,omitempty"`
}

// OutcomeErr is a failure: the message as stderr shows it, and the fields
// of the error object when the script raised one (op, server, code,
// sqlstate, kind, where).
type OutcomeErr struct {
	Message string         `json:"message"`
	Fields  map[string]any `json:"fields,omitempty"`
}

// OutcomeStep is one procedure step: state is done, failed, undone or
// undo_failed.
type OutcomeStep struct {
	Name       string  `json:"name"`
	Procedure  string  `json:"procedure,omitempty"` // the nested procedures that ran it: "rolling_restart / switchover"
	State      string  `json:"state"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
}

// OutcomeStatement is one statement a dry run recorded, or another change
// it skipped: kind is then machine, file, shell, backup or restore, and sql
// says what it would do.
type OutcomeStatement struct {
	Server string `json:"server"`
	SQL    string `json:"sql"`
	Kind   string `json:"kind,omitempty"`
}

// Outcome describes the finished run: err is what Run returned, exitCode
// the code the process exits with.
func (s *State) Outcome(err error, exitCode int) Outcome {
	o := Outcome{OK: exitCode == 0, ExitCode: exitCode}
	switch len(s.results) {
	case 0:
	case 1:
		o.Result = s.jsonValue(s.results[0])
	default:
		all := make([]any, len(s.results))
		for i, v := range s.results {
			all[i] = s.jsonValue(v)
		}
		o.Result = all
	}
	var exit *ExitError
	var re *RunError
	switch {
	case err == nil, errors.As(err, &exit):
	case errors.As(err, &re):
		o.Error = &OutcomeErr{Message: re.Message, Fields: re.Fields}
	default:
		o.Error = &OutcomeErr{Message: err.Error()}
	}
	for _, st := range s.proc.Flat() {
		step := OutcomeStep{Name: st.Name, Procedure: st.Procedure, State: "done", DurationMS: jsonDuration(st.Duration)}
		switch {
		case st.Err != nil:
			step.State, step.Error = "failed", st.Err.Error()
		case st.UndoErr != nil:
			step.State, step.Error = "undo_failed", st.UndoErr.Error()
		case st.Undone:
			step.State = "undone"
		}
		o.Steps = append(o.Steps, step)
	}
	if o.Error != nil {
		_, o.PastPointOfNoReturn, o.Recovery = s.proc.Failed()
	}
	if s.plan != nil {
		o.Plan = []OutcomeStatement{}
		for _, st := range s.plan.Statements() {
			o.Plan = append(o.Plan, OutcomeStatement{Server: st.Server, SQL: st.SQL, Kind: st.Kind})
		}
		for _, st := range s.plan.Unverified() {
			o.Unverified = append(o.Unverified, OutcomeStatement{Server: st.Server, SQL: st.SQL})
		}
	}
	return o
}

// WriteOutcome writes Outcome as one indented JSON document.
func (s *State) WriteOutcome(w io.Writer, err error, exitCode int) error {
	return writeOutcome(w, s.Outcome(err, exitCode))
}

// WriteFailure writes the document of a run that could not start (its
// deployment file is invalid, say): no result, no steps.
func WriteFailure(w io.Writer, err error, exitCode int) error {
	return writeOutcome(w, Outcome{ExitCode: exitCode, Error: &OutcomeErr{Message: err.Error()}})
}

func writeOutcome(w io.Writer, o Outcome) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(o)
}

// jsonDuration is a duration in milliseconds, as the audit log writes it.
func jsonDuration(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
