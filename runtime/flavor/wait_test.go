package flavor

import (
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestWaitArgs(t *testing.T) {
	w, err := mariadb11.WaitForGTID("0-1-5", 250*time.Millisecond)
	if err != nil || w.Query != "SELECT MASTER_GTID_WAIT(?, ?)" || !reflect.DeepEqual(w.Args, []any{"0-1-5", 0.25}) {
		t.Errorf("MariaDB GTID wait: %+v %v", w, err)
	}
	w, err = MustParse("8.0.26").WaitForPosition("b.000009", 1<<40, 250*time.Millisecond)
	if err != nil || w.Query != "SELECT SOURCE_POS_WAIT(?, ?, ?)" ||
		!reflect.DeepEqual(w.Args, []any{"b.000009", int64(1 << 40), int64(1)}) {
		t.Errorf("8.0.26 position wait: %+v %v", w, err)
	}
	for _, bad := range []func() (Wait, error){
		func() (Wait, error) { return mysql84f.WaitForGTID("x:1", 0) },
		func() (Wait, error) { return mariadb11.WaitForGTID("0-1-1", -time.Second) },
		func() (Wait, error) { return mysql84f.WaitForPosition("b.1", 4, 0) },
		func() (Wait, error) { return mysql84f.WaitForPosition("b.1", 3, time.Second) },
		func() (Wait, error) { return mysql84f.WaitForPosition("", 4, time.Second) },
		func() (Wait, error) { return mysql84f.WaitForPosition("b.1", 1<<63, time.Second) },
	} {
		if w, err := bad(); err == nil {
			t.Errorf("got %+v, want an error", w)
		}
	}
}

func TestWaitOutcome(t *testing.T) {
	gtidMaria, _ := mariadb11.WaitForGTID("0-1-5", time.Second)
	gtidMySQL, _ := mysql84f.WaitForGTID("u:1", time.Second)
	pos, _ := mysql84f.WaitForPosition("b.1", 4, time.Second)
	posMaria, _ := mariadb11.WaitForPosition("b.1", 4, time.Second)
	const timeout, reached = "timeout", "reached"
	tests := []struct {
		name  string
		w     Wait
		value any
		want  string // reached, timeout, or an error substring
	}{
		{"maria gtid 0", gtidMaria, []byte("0"), reached},
		{"maria gtid -1", gtidMaria, int64(-1), timeout},
		{"maria gtid NULL", gtidMaria, nil, "MASTER_GTID_WAIT returned NULL"},
		{"maria gtid 1", gtidMaria, int64(1), "MASTER_GTID_WAIT returned unexpected 1"},
		{"mysql gtid 0", gtidMySQL, int64(0), reached},
		{"mysql gtid 1", gtidMySQL, "1", timeout},
		{"mysql gtid -1", gtidMySQL, int64(-1), "WAIT_FOR_EXECUTED_GTID_SET returned unexpected -1"},
		{"mysql gtid NULL", gtidMySQL, nil, "returned NULL"},
		{"pos 0", pos, int64(0), reached},
		{"pos 17 events", pos, sql.RawBytes("17"), reached},
		{"pos -1", pos, int64(-1), timeout},
		{"pos NULL", pos, nil, "SOURCE_POS_WAIT returned NULL: replica SQL thread not running"},
		{"pos -2", pos, int64(-2), "unexpected -2"},
		{"maria pos NULL", posMaria, sql.NullInt64{}, "MASTER_POS_WAIT returned NULL"},
		{"garbage", pos, "yes", "SOURCE_POS_WAIT returned yes"},
		{"empty wait", Wait{}, int64(0), "empty Wait"},
	}
	for _, tt := range tests {
		ok, err := tt.w.Outcome(tt.value)
		switch tt.want {
		case reached:
			if !ok || err != nil {
				t.Errorf("%s: got %v, %v; want reached", tt.name, ok, err)
			}
		case timeout:
			if ok || err != nil {
				t.Errorf("%s: got %v, %v; want timeout", tt.name, ok, err)
			}
		default:
			if ok || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: got %v, %v; want error %q", tt.name, ok, err, tt.want)
			}
		}
	}
	if _, err := pos.Outcome(nil); !errors.Is(err, ErrWaitNotRunning) {
		t.Errorf("NULL position wait: %v does not wrap ErrWaitNotRunning", err)
	}
}
