package tests

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	gosql "github.com/go-sql-driver/mysql"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
)

// writer is the client of the switchover and failover tests and
// benchmarks: an ordinary application user (no admin privileges, so
// read_only stops it) inserting numbered rows into whichever server
// accepts writes, as fast as it can, one row per statement.
type writer struct {
	dbs  []*sql.DB
	stop chan struct{}
	done chan struct{}

	// retry sends a failed insert again with the same seq, as a client
	// that retries its transaction does: a commit that succeeded although
	// its client was told it failed then shows as a duplicate.
	retry bool

	mu       sync.Mutex
	acked    []int64     // seq of every acknowledged insert
	ackAt    []time.Time // when each was acknowledged
	errors   int
	attempts []attempt // every insert tried, to explain a gap
}

// attempt is one insert the writer tried: on which server, how long it
// took, and how it failed.
type attempt struct {
	start, end time.Time
	target     int
	err        error
}

const writerTable = "bench.w"

// startWriter creates bench.w on the primary (replicated to all) and
// starts writing.
func startWriter(t testing.TB, sb *sandbox.Sandbox) *writer { return newWriter(t, sb, false) }

// startRetryingWriter is startWriter whose failed inserts are retried
// with the same seq.
func startRetryingWriter(t testing.TB, sb *sandbox.Sandbox) *writer { return newWriter(t, sb, true) }

func newWriter(t testing.TB, sb *sandbox.Sandbox, retry bool) *writer {
	t.Helper()
	pw, err := sb.AppUser.Password()
	if err != nil {
		t.Fatal(err)
	}
	w := &writer{stop: make(chan struct{}), done: make(chan struct{}), retry: retry}
	for _, in := range sb.Instances {
		cfg := gosql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = sb.AppUser.Name, pw, "tcp", in.Addr()
		cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 500*time.Millisecond, 2*time.Second, 2*time.Second
		cfg.Logger = &gosql.NopLogger{}
		conn, err := gosql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(conn)
		db.SetMaxOpenConns(1)
		w.dbs = append(w.dbs, db)
	}
	ctx := context.Background()
	if _, err := w.dbs[0].ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS bench"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.dbs[0].ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+writerTable+
		" (id BIGINT AUTO_INCREMENT PRIMARY KEY, seq BIGINT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	go w.loop()
	return w
}

func (w *writer) loop() {
	defer close(w.done)
	var seq int64
	failed := false
	target := 0
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		if !w.retry || !failed {
			seq++ // without retry, a fresh number per attempt: a duplicate can only come from a server
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		began := time.Now()
		_, err := w.dbs[target].ExecContext(ctx, "INSERT INTO "+writerTable+" (seq) VALUES (?)", seq)
		cancel()
		w.mu.Lock()
		w.attempts = append(w.attempts, attempt{start: began, end: time.Now(), target: target, err: err})
		if err == nil {
			w.acked = append(w.acked, seq)
			w.ackAt = append(w.ackAt, time.Now())
		} else {
			w.errors++
			target = (target + 1) % len(w.dbs) // try the next server
		}
		w.mu.Unlock()
		failed = err != nil
		if err != nil {
			time.Sleep(200 * time.Microsecond)
		}
	}
}

// waitAcked waits until the writer has n more acknowledged rows than it
// had when called, so a test proves writes go through instead of hoping a
// pause was long enough.
func (w *writer) waitAcked(t testing.TB, n int) {
	t.Helper()
	w.mu.Lock()
	want := len(w.acked) + n
	w.mu.Unlock()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		w.mu.Lock()
		got, errs := len(w.acked), w.errors
		w.mu.Unlock()
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("writer: %d rows acknowledged after 30s, want %d (%d errors)", got, want, errs)
		}
	}
}

// writerResult is what the writer saw.
type writerResult struct {
	acked   int
	maxGap  time.Duration // the largest gap between two acknowledged writes
	errors  int
	lost    int // acknowledged but missing on the final primary
	dupes   int // rows beyond one per seq on the final primary
	missing []int64
}

// finish stops the writer and checks every acknowledged row on the
// primary, which every replica must also have.
func (w *writer) finish(t testing.TB, primary int) writerResult {
	t.Helper()
	close(w.stop)
	<-w.done
	defer func() {
		for _, db := range w.dbs {
			db.Close()
		}
	}()
	res := writerResult{acked: len(w.acked), errors: w.errors}
	for i := 1; i < len(w.ackAt); i++ {
		if gap := w.ackAt[i].Sub(w.ackAt[i-1]); gap > res.maxGap {
			res.maxGap = gap
		}
	}
	rows, err := w.dbs[primary].QueryContext(context.Background(), "SELECT seq, COUNT(*) FROM "+writerTable+" GROUP BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	present := map[int64]bool{}
	for rows.Next() {
		var seq, n int64
		if err := rows.Scan(&seq, &n); err != nil {
			t.Fatal(err)
		}
		present[seq] = true
		res.dupes += int(n - 1)
	}
	for _, seq := range w.acked {
		if !present[seq] {
			res.lost++
			res.missing = append(res.missing, seq)
		}
	}
	return res
}
