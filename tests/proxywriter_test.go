package tests

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// proxyWriter is an application client of a proxy: it inserts into
// bench.w through one address (HAProxy's), as fast as it can, and after
// an error connects again (the pool drops the broken connection) and
// retries with the next number.
type proxyWriter struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	ackAt []time.Time
	errAt []time.Time
}

func startProxyWriter(t testing.TB, sb *sandbox.Sandbox, addr string) *proxyWriter {
	t.Helper()
	pw, err := sb.AppUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	cfg := gosql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = sb.AppUser.Name, pw, "tcp", addr
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 500*time.Millisecond, 2*time.Second, 2*time.Second
	cfg.Logger = &gosql.NopLogger{}
	conn, err := gosql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &proxyWriter{db: sql.OpenDB(conn), stop: make(chan struct{}), done: make(chan struct{})}
	w.db.SetMaxOpenConns(1)
	ctx := context.Background()
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS bench",
		"CREATE TABLE IF NOT EXISTS " + writerTable + " (id BIGINT AUTO_INCREMENT PRIMARY KEY, seq BIGINT NOT NULL)"} {
		if _, err := w.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("through %s: %s: %v", addr, q, err)
		}
	}
	go w.loop()
	t.Cleanup(w.close)
	return w
}

func (w *proxyWriter) loop() {
	defer close(w.done)
	for seq := int64(1); ; seq++ {
		select {
		case <-w.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := w.db.ExecContext(ctx, "INSERT INTO "+writerTable+" (seq) VALUES (?)", seq)
		cancel()
		if err != nil {
			w.mu.Lock()
			w.errAt = append(w.errAt, time.Now())
			if debugProxyWriter {
				fmt.Printf("%s proxy writer: %v\n", time.Now().Format("15:04:05.000"), err)
			}
			w.mu.Unlock()
			// A connection that saw an error other than a broken one
			// (read_only's 1290) may still lead to the old server: a new
			// one goes where the proxy routes now.
			w.db.SetMaxIdleConns(0)
			w.db.SetMaxIdleConns(1)
			time.Sleep(time.Millisecond)
			continue
		}
		w.mu.Lock()
		w.ackAt = append(w.ackAt, time.Now())
		if debugProxyWriter && len(w.errAt) > 0 && w.errAt[len(w.errAt)-1].After(w.ackAt[len(w.ackAt)-2]) {
			fmt.Printf("%s proxy writer: ack\n", time.Now().Format("15:04:05.000"))
		}
		w.mu.Unlock()
	}
}

// waitAcked waits for n more acknowledged inserts.
func (w *proxyWriter) waitAcked(t testing.TB, n int) {
	t.Helper()
	w.mu.Lock()
	want := len(w.ackAt) + n
	w.mu.Unlock()
	waitFor(t, "writes through the proxy", func() bool { w.mu.Lock(); defer w.mu.Unlock(); return len(w.ackAt) >= want })
}

// firstAckAfter waits up to timeout for the first insert acknowledged
// after the first error after t0 (the old primary's last acks may still
// arrive just after t0, the signal being asynchronous), and returns how
// long after t0 it was.
func (w *proxyWriter) firstAckAfter(t0 time.Time, timeout time.Duration) (time.Duration, bool) {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		w.mu.Lock()
		var failed time.Time
		for _, e := range w.errAt {
			if e.After(t0) {
				failed = e
				break
			}
		}
		if !failed.IsZero() {
			for _, a := range w.ackAt {
				if a.After(failed) {
					w.mu.Unlock()
					return a.Sub(t0), true
				}
			}
		}
		w.mu.Unlock()
	}
	return 0, false
}

func (w *proxyWriter) close() {
	select {
	case <-w.stop:
		return
	default:
	}
	close(w.stop)
	<-w.done
	w.db.Close()
}

// debugProxyWriter prints each error and the first ack after one (to see
// where a client waits).
var debugProxyWriter = false
