package machine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// testHostStream checks RunStream of h against real commands.
func testHostStream(t *testing.T, h Host, via string) {
	ctx := testContext(t, 2*time.Minute)

	t.Run("round trip", func(t *testing.T) {
		// 8 MiB of every byte value, through cat and back.
		data := make([]byte, 8<<20)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		var out bytes.Buffer
		start := time.Now()
		if err := h.RunStream(ctx, []string{"cat"}, bytes.NewReader(data), &out); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: 8 MiB through cat and back in %s", h, time.Since(start).Round(time.Millisecond))
		if sha256.Sum256(out.Bytes()) != sha256.Sum256(data) {
			t.Fatalf("got %d bytes back, not the %d sent", out.Len(), len(data))
		}
	})

	t.Run("stdout only, stdin empty", func(t *testing.T) {
		var n countingWriter
		if err := h.RunStream(ctx, []string{"head", "-c", "5000000", "/dev/zero"}, nil, &n); err != nil {
			t.Fatal(err)
		}
		if n != 5000000 {
			t.Errorf("got %d bytes, want 5000000", n)
		}
		var out bytes.Buffer
		if err := h.RunStream(ctx, []string{"wc", "-c"}, nil, &out); err != nil || strings.TrimSpace(out.String()) != "0" {
			t.Errorf("a nil stdin: wc -c says %q, %v; want 0", out.String(), err)
		}
	})

	t.Run("failure carries the end of stderr", func(t *testing.T) {
		// More stderr than an error keeps: the last line must be there.
		script := `cat >/dev/null; i=0; while [ $i -lt 3000 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo 'mbstream: No space left on device' >&2; exit 3`
		err := h.RunStream(ctx, []string{"sh", "-c", script}, strings.NewReader("some input"), nil)
		contains(t, err, "exit status 3", "noise line 2999\nmbstream: No space left on device")
		ce, ok := errors.AsType[*CommandError](err)
		if !ok || ce.ExitCode != 3 || ce.Via != via || len(ce.Stderr) > maxStderr+len("…") {
			t.Errorf("want a *CommandError via %q, exit code 3, stderr at most %d bytes; got %#v", via, maxStderr, err)
		}
	})

	t.Run("a failing writer is the error", func(t *testing.T) {
		w := &failingWriter{after: 1 << 20}
		err := h.RunStream(ctx, []string{"head", "-c", "67108864", "/dev/zero"}, nil, w)
		contains(t, err, "head -c 67108864 /dev/zero: copying its output: disk full (test)")
		if !errors.Is(err, errDiskFull) {
			t.Errorf("error does not wrap the writer's: %v", err)
		}
	})

	t.Run("a failing reader is the error", func(t *testing.T) {
		in := io.MultiReader(strings.NewReader("partial "), &failingReader{})
		err := h.RunStream(ctx, []string{"sh", "-c", "cat >/dev/null; echo 'tar: Unexpected EOF in archive' >&2; exit 2"}, in, nil)
		contains(t, err, "reading its input: connection to the image lost (test)")
		if !errors.Is(err, errLost) {
			t.Errorf("error does not wrap the reader's: %v", err)
		}
	})

	t.Run("context deadline", func(t *testing.T) {
		// A reader that never gives anything: cat waits for it, the
		// deadline kills cat, WaitDelay frees us from the blocked Read.
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.Close() })
		start := time.Now()
		err := h.RunStream(testContext(t, time.Second), []string{"cat"}, pr, nil)
		t.Logf("after %s: %v", time.Since(start).Round(time.Millisecond), err)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
		contains(t, err, "cat: context deadline exceeded")
	})
}

func TestLocalStream(t *testing.T) { testHostStream(t, Local(), "") }

func TestSSHStream(t *testing.T) { testHostStream(t, startSSHD(t).host(t), "ssh") }

// A machine streams through its host and names itself in errors.
func TestProcessStream(t *testing.T) {
	d := startSSHD(t)
	p, err := NewProcess(ProcessOptions{DefaultsFile: "/nonexistent/my.cnf", Host: d.host(t)})
	if err != nil {
		t.Fatal(err)
	}
	if IsLocal(p) || IsLocal(d.host(t)) || !IsLocal(Local()) {
		t.Errorf("IsLocal: process over ssh %v, ssh %v, local %v", IsLocal(p), IsLocal(d.host(t)), IsLocal(Local()))
	}
	local, _ := NewProcess(ProcessOptions{DefaultsFile: "/nonexistent/my.cnf"})
	if !IsLocal(local) {
		t.Error("IsLocal: a local process machine is not local")
	}
	var out bytes.Buffer
	ctx := testContext(t, time.Minute)
	if err := p.RunStream(ctx, []string{"tr", "a-z", "A-Z"}, strings.NewReader("through the machine"), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "THROUGH THE MACHINE" {
		t.Errorf("got %q", out.String())
	}
	err = p.RunStream(ctx, []string{"false"}, nil, nil)
	contains(t, err, p.String()+": run: false: exit status 1")
}

// The ssh command of a stream asks for keepalives, after the operator's
// options so that theirs win.
func TestSSHStreamArgv(t *testing.T) {
	h, _ := NewSSH(SSHOptions{Destination: "ops@10.0.0.1", Options: []string{"ServerAliveInterval=5"}})
	got := strings.Join(h.argv("cat", streamOptions...), " ")
	want := "-o ServerAliveInterval=5 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -- ops@10.0.0.1 cat"
	if !strings.HasSuffix(got, want) {
		t.Errorf("argv = %s\nwant it to end with %s", got, want)
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

var (
	errDiskFull = errors.New("disk full (test)")
	errLost     = errors.New("connection to the image lost (test)")
)

// failingWriter takes after bytes, then fails.
type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		n := w.after
		w.after = 0
		return n, errDiskFull
	}
	w.after -= len(p)
	return len(p), nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errLost }
