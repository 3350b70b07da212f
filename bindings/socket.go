package bindings

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

var unixRequestOptions = optSpec{"timeout": optDuration, "read_only": optBool, "target": optString}

// defaultSocketTimeout bounds a request to an admin socket.
const defaultSocketTimeout = 5 * time.Second

// rep.unix_request(path, text, {timeout=, read_only=, target=}) → the
// answer: connects to the Unix socket at path (a proxy's admin socket:
// HAProxy's runtime API), sends text and a newline, and reads until the
// other side closes. A request changes something unless read_only says
// it does not: a dry run records it in the plan instead of sending it
// (fail closed), and returns "". target names what the request acts on,
// for the plan and the audit ("haproxy writer/db2").
func (s *State) repUnixRequest(L *lua.LState) int {
	path, text := L.CheckString(1), L.CheckString(2)
	o := checkOptions(L, 3, "unix_request", unixRequestOptions)
	target := o.str("target")
	if target == "" {
		target = path
	}
	what := fmt.Sprintf("%s: %s", target, strings.TrimSpace(text))
	if s.cfg.DryRun && !o.bool("read_only") {
		if s.observer != nil {
			s.observer.Statement(server.Statement{SQL: what, Start: time.Now(), Planned: true, Kind: server.KindSocket})
		}
		L.Push(lua.LString(""))
		return 1
	}
	timeout := o.duration("timeout")
	if timeout <= 0 {
		timeout = defaultSocketTimeout
	}
	ctx, cancel := context.WithTimeout(L.Context(), timeout)
	defer cancel()
	start := time.Now()
	answer, err := unixRequest(ctx, path, text)
	if s.observer != nil && !o.bool("read_only") {
		s.observer.Statement(server.Statement{SQL: what, Start: start, Duration: time.Since(start), Err: err, Kind: server.KindSocket})
	}
	if err != nil {
		L.RaiseError("unix_request %s: %v", target, err)
	}
	L.Push(lua.LString(answer))
	return 1
}

func unixRequest(ctx context.Context, path, text string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if _, err := io.WriteString(conn, text); err != nil {
		return "", err
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		if ctx.Err() != nil {
			return string(b), fmt.Errorf("no complete answer: %w", context.Cause(ctx))
		}
		return string(b), err
	}
	return string(b), nil
}
