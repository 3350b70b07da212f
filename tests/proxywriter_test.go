package tests

import (
	"context"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/harness"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// proxyWriterTable is the proxy writer's, apart from the writer's bench.w
// (whose columns differ).
const proxyWriterTable = "bench.proxy_w"

// proxyWriter is an application client of a proxy, a harness.Writer: it
// inserts into bench.proxy_w through one address (HAProxy's), as fast as
// it can, and after an error connects again and goes on with the next id.
type proxyWriter struct{ w *harness.Writer }

func startProxyWriter(t testing.TB, sb *sandbox.Sandbox, addr string) *proxyWriter {
	t.Helper()
	pw, err := sb.AppUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	w, err := harness.StartWriter(context.Background(), harness.WriterOptions{
		Table: proxyWriterTable, Addr: addr, User: sb.AppUser.Name, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	p := &proxyWriter{w: w}
	t.Cleanup(p.close)
	return p
}

// waitAcked waits for n more acknowledged inserts.
func (p *proxyWriter) waitAcked(t testing.TB, n int) {
	t.Helper()
	want := p.w.Acked() + n
	waitFor(t, "writes through the proxy", func() bool { return p.w.Acked() >= want })
}

// firstAckAfter waits up to timeout for the first insert acknowledged
// after the first error after t0 (the old primary's last acks may still
// arrive just after t0, the signal being asynchronous), and returns how
// long after t0 it was.
func (p *proxyWriter) firstAckAfter(t0 time.Time, timeout time.Duration) (time.Duration, bool) {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if at, ok := p.w.FirstAckAfterFailure(t0); ok {
			return at.Sub(t0), true
		}
	}
	return 0, false
}

// close stops writing. The benchmarks measure the outage, not the rows:
// the final check is bounded short and its verdict not asked for.
func (p *proxyWriter) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.w.Stop(ctx)
}
