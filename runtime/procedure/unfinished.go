package procedure

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Unfinished is a run the audit trail shows started and never ended: its
// process was killed (kill -9, a crash, the host lost) in the middle of
// what it did, so the cluster may be half changed.
type Unfinished struct {
	RunID   string
	Start   string
	Host    string
	Pid     int
	Command []string
	// LastStep is the last step it began, with its state ("started",
	// "done", ...); "" when it had none.
	LastStep, LastState string
	// PastPointOfNoReturn says the run had declared its point of no
	// return: nothing of it would have been undone.
	PastPointOfNoReturn bool
}

func (u Unfinished) String() string {
	s := fmt.Sprintf("run %s (started %s on %s, pid %d: %s) has no end in the audit trail: it was killed",
		u.RunID, u.Start, u.Host, u.Pid, strings.Join(u.Command, " "))
	if u.LastStep != "" {
		s += fmt.Sprintf("; its last step was %q (%s)", u.LastStep, u.LastState)
	}
	if u.PastPointOfNoReturn {
		s += ", past its point of no return"
	}
	return s
}

// Cleared is the audit line that marks an unfinished run as dealt with
// (the operator cleared the block it caused): it is not reported again.
func Cleared(runID string) map[string]any {
	return map[string]any{"type": "run_cleared", "run_id": runID, "time": timestamp(time.Now())}
}

// FindUnfinished reads an audit trail and returns the runs on deployment
// (its path as the runs gave it) that started and never ended, leaving
// out those whose process still runs on this host. A line that is not
// JSON (a torn last line) is skipped.
func FindUnfinished(r io.Reader, deployment string) ([]Unfinished, error) {
	type run struct {
		u     Unfinished
		ended bool
	}
	runs := map[string]*run{}
	var order []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var line struct {
			Type       string   `json:"type"`
			RunID      string   `json:"run_id"`
			Name       string   `json:"name"`
			State      string   `json:"state"`
			Deployment string   `json:"deployment"`
			Command    []string `json:"command"`
			Host       string   `json:"host"`
			Pid        int      `json:"pid"`
			Start      string   `json:"start"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.RunID == "" {
			continue
		}
		if line.Type == "run_start" {
			if line.Deployment != deployment {
				continue
			}
			runs[line.RunID] = &run{u: Unfinished{RunID: line.RunID, Start: line.Start, Host: line.Host,
				Pid: line.Pid, Command: line.Command}}
			order = append(order, line.RunID)
			continue
		}
		r := runs[line.RunID]
		if r == nil {
			continue
		}
		switch line.Type {
		case "run_end", "run_cleared":
			r.ended = true
		case "step":
			r.u.LastStep, r.u.LastState = line.Name, line.State
		case "point_of_no_return":
			r.u.PastPointOfNoReturn = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	var out []Unfinished
	for _, id := range order {
		r := runs[id]
		if r.ended || (r.u.Host == host && running(r.u.Pid)) {
			continue
		}
		out = append(out, r.u)
	}
	return out, nil
}

// running reports whether pid is a live replicant-lua process here.
func running(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && strings.Contains(string(b), "replicant-lua")
}
