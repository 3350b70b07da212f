package machine

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// stream runs c with the caller's stdin (nil: empty) and stdout (nil:
// discarded), bounded by ctx alone: a stream takes as long as its data
// does, so there is no default timeout.
//
// The command gets pipes of ours, and our goroutines copy between them
// and the caller's reader and writer; exec's own copying would make Wait
// wait for a Read of stdin that may never return, even after the context
// has ended. Here the output is drained completely once the command
// exits (a truncated stream would be worse than a slow one) unless ctx
// ends first. When ctx ends, a Read of stdin or a Write to stdout may
// still be running in its goroutine: the caller unblocks it, for example
// by closing the pipe it reads from.
//
// When the caller's side fails (stdin returns an error, stdout refuses
// bytes) the command sees its input end or its output closed and fails
// in its own way ("Unexpected EOF", "Broken pipe", ssh's exit 255), or
// even succeeds: the error then names the caller's failure, which is the
// cause.
func (c command) stream(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	if stdout == nil {
		stdout = io.Discard
	}
	out := &recordingWriter{w: stdout}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	drained := make(chan struct{})
	go func() {
		io.Copy(out, outR)
		outR.Close() // a failed Write: the command gets EPIPE
		close(drained)
	}()
	var in *recordingReader
	var inR, inW *os.File
	if stdin != nil {
		in = &recordingReader{r: stdin}
		if inR, inW, err = os.Pipe(); err != nil {
			outW.Close()
			return err
		}
	}
	started := func(ok bool) {
		// The child has its copies of the ends it uses; ours must go, so
		// that its exit is our EOF, and our writes to a child that quit
		// reading fail with EPIPE instead of blocking.
		outW.Close()
		if inR == nil {
			return
		}
		inR.Close()
		if !ok {
			inW.Close()
			return
		}
		go func() {
			io.Copy(inW, in)
			inW.Close()
		}()
	}
	var childIn io.Reader
	if inR != nil {
		childIn = inR // an *os.File: exec passes it as is
	}
	err = c.execute(ctx, childIn, outW, started)
	select {
	case <-drained:
	case <-ctx.Done():
	}
	if err != nil && ctx.Err() != nil {
		return err
	}
	if in != nil && in.failure() != nil {
		return fmt.Errorf("%s: reading its input: %w", QuoteCommand(c.display), in.failure())
	}
	if out.failure() != nil {
		return fmt.Errorf("%s: copying its output: %w", QuoteCommand(c.display), out.failure())
	}
	return err
}

// recordingReader and recordingWriter remember the first error of the
// caller's reader or writer, for stream to report; they are used from
// the copying goroutines, which may outlive stream.
type recordingReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
	}
	return n, err
}

func (r *recordingReader) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

type recordingWriter struct {
	w   io.Writer
	mu  sync.Mutex
	err error
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
	return n, err
}

func (w *recordingWriter) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
