package procedure

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFindUnfinished(t *testing.T) {
	audit := strings.Join([]string{
		// ended: not reported
		`{"type":"run_start","run_id":"a","deployment":"/d.lua","host":"elsewhere","pid":1,"command":["replicant-lua","run","ping"],"start":"T1"}`,
		`{"type":"run_end","run_id":"a","exit_code":0}`,
		// killed past its point of no return
		`{"type":"run_start","run_id":"b","deployment":"/d.lua","host":"elsewhere","pid":2,"command":["replicant-lua","watch"],"start":"T2"}`,
		`{"type":"step","run_id":"b","name":"promote db2","state":"started"}`,
		`{"type":"step","run_id":"b","name":"promote db2","state":"done"}`,
		`{"type":"point_of_no_return","run_id":"b"}`,
		`{"type":"step","run_id":"b","name":"repoint db3 to db2","state":"started"}`,
		// another deployment's run: not this cluster's
		`{"type":"run_start","run_id":"c","deployment":"/other.lua","host":"elsewhere","pid":3,"command":["x"],"start":"T3"}`,
		// a torn last line
		`{"type":"run_start","run_id":"d","deploy`,
	}, "\n")
	got, err := FindUnfinished(strings.NewReader(audit), "/d.lua")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RunID != "b" || got[0].LastStep != "repoint db3 to db2" || got[0].LastState != "started" ||
		!got[0].PastPointOfNoReturn {
		t.Fatalf("unfinished: %+v", got)
	}
	cleared, _ := json.Marshal(Cleared("b"))
	if again, _ := FindUnfinished(strings.NewReader(audit+"\n"+string(cleared)), "/d.lua"); len(again) != 0 {
		t.Errorf("after run_cleared: %+v", again)
	}
	if s := got[0].String(); !strings.Contains(s, `its last step was "repoint db3 to db2" (started), past its point of no return`) ||
		!strings.Contains(s, "pid 2: replicant-lua watch") {
		t.Errorf("text: %s", s)
	}
}
