package harness

import (
	"bytes"
	"sync"
)

// Output is a buffer that goroutines may write to while another reads
// it: a process's output copied by exec, a Lua state's prints (its
// rep.parallel goroutines print too).
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
