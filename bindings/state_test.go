package bindings

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func newTestState(t *testing.T) (*State, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	s := New(context.Background(), Config{Stdout: &out, Stderr: &out})
	t.Cleanup(s.Close)
	return s, &out
}

func runErr(t *testing.T, code string) string {
	t.Helper()
	s, _ := newTestState(t)
	err := s.RunString(code, "test.lua")
	if err == nil {
		t.Fatalf("%s: no error", code)
	}
	return err.Error()
}

func TestOptionsAreStrict(t *testing.T) {
	msg := runErr(t, `replicant.server("127.0.0.1:1", { usr = "x" })`)
	for _, want := range []string{"test.lua:1:", "unknown option usr", "valid: connect_timeout, name, password, tls, user"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	msg = runErr(t, `replicant.server("127.0.0.1:1", { user = 5 })`)
	if !strings.Contains(msg, "option user: want string, got number") {
		t.Errorf("wrong-type message: %q", msg)
	}
	msg = runErr(t, `replicant.server("127.0.0.1:1", { user = "u", connect_timeout = "soon" })`)
	if !strings.Contains(msg, `"soon" is not a duration`) {
		t.Errorf("duration message: %q", msg)
	}
}

func TestModuleIsReadOnly(t *testing.T) {
	msg := runErr(t, "local rep = require 'replicant'\nrep.server = nil")
	if !strings.Contains(msg, "test.lua:2:") || !strings.Contains(msg, "replicant is read-only: cannot set server") {
		t.Errorf("message: %q", msg)
	}
}

// A connection failure raises a structured error object with the
// playbook's line and the server.
func TestConnectionErrorObject(t *testing.T) {
	s, out := newTestState(t)
	err := s.RunString(`
local rep = require "replicant"
local db = rep.server("127.0.0.1:1", { user = "u", password = "topsecret", connect_timeout = "1s" })
local ok, e = pcall(db.sql, db, "SELECT 1")
assert(not ok)
print(e.op, e.server, e.code, e.kind, e.where)
print(tostring(e))
`, "play.lua")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "connect\t127.0.0.1:1\t0\tconnection\tplay.lua:4" {
		t.Errorf("fields: %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "play.lua:4: 127.0.0.1:1: connect: ") || !strings.Contains(lines[1], "connection refused") {
		t.Errorf("tostring: %q", lines[1])
	}
	if strings.Contains(out.String(), "topsecret") {
		t.Errorf("password in output: %s", out)
	}
}

func TestUncaughtErrorObjectIsFormatted(t *testing.T) {
	msg := runErr(t, "local db = replicant.server('127.0.0.1:1', {user='u', connect_timeout=1})\n\ndb:exec('DO 1')")
	if !strings.HasPrefix(msg, "test.lua:3: 127.0.0.1:1: connect: ") {
		t.Errorf("message: %q", msg)
	}
}

func TestSyntaxErrorIsAnInputError(t *testing.T) {
	s, _ := newTestState(t)
	err := s.RunString("local x = = 1", "bad.lua")
	var se *SyntaxError
	if !errors.As(err, &se) || !strings.Contains(se.Message, "bad.lua") {
		t.Errorf("err = %#v", err)
	}
}

func TestOsExitEndsTheRunEvenInsidePcall(t *testing.T) {
	s, out := newTestState(t)
	err := s.RunString("pcall(os.exit, 3)\nprint('still here')", "x.lua")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(out.String(), "still here") {
		t.Errorf("script went on after os.exit")
	}
}

func TestArgsAndStdlibRequire(t *testing.T) {
	s, out := newTestState(t)
	if err := s.RunString("print(arg[0], arg[1])", "x.lua"); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != "x.lua\tnil" {
		t.Errorf("out = %q", out)
	}
	msg := runErr(t, `require "replicant.nope"`)
	if !strings.Contains(msg, "no bundled module 'replicant.nope'") {
		t.Errorf("require message: %q", msg)
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s := New(ctx, Config{Stdout: &bytes.Buffer{}})
	defer s.Close()
	err := s.RunString(`replicant.sleep("10s")`, "s.lua")
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("err = %v", err)
	}
}

func TestNullAndValues(t *testing.T) {
	s, out := newTestState(t)
	if err := s.RunString(`print(tostring(replicant.null), replicant.null == replicant.null)`, "n.lua"); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != "null\ttrue" {
		t.Errorf("out = %q", out)
	}
	for _, tt := range []struct {
		in   any
		want string
	}{
		{int64(1 << 53), "9007199254740992"},
		{int64(42), "42"},
		{uint64(18446744073709551615), "18446744073709551615"},
		{nil, "null"},
		{"NULL", "NULL"},
	} {
		got := s.L.ToStringMeta(s.toLua(tt.in)).String()
		if got != tt.want {
			t.Errorf("toLua(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
