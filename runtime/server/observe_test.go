package server

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// Placeholder values reach the log as values, except in a statement that
// may set a password, however it is spaced: there every one is redacted.
func TestLogValues(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		query string
		args  []any
		want  string
	}{
		{"INSERT INTO t VALUES (?, ?, ?, ?, ?)", []any{int64(1), "a", []byte("b"), nil, at}, "[1 a b <nil> 2026-01-02T03:04:05Z]"},
		{"SELECT ?", []any{Secret("hunter2")}, "[<redacted>]"},
		{"CHANGE MASTER TO MASTER_HOST = ?, MASTER_PASSWORD = ?", []any{"h", "hunter2"}, "[<redacted> <redacted>]"},
		{"change master to master_password=?", []any{"hunter2"}, "[<redacted>]"},
		{"CREATE USER ? IDENTIFIED BY ?", []any{"u", "hunter2"}, "[<redacted> <redacted>]"},
		{"SET PASSWORD FOR u = PASSWORD(?)", []any{"hunter2"}, "[<redacted>]"},
		{"SELECT 1", nil, "[]"},
		{"SELECT ?, ?", []any{math.NaN(), math.Inf(-1)}, "[NaN -Inf]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(logValues(c.query, c.args)); got != c.want {
			t.Errorf("%s: %s, want %s", c.query, got, c.want)
		}
	}
}
