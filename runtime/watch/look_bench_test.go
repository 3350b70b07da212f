package watch

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
	"github.com/replicant-lua/replicant-lua/runtime/topology"
)

// BenchmarkLook: one look of the watcher at a 3-server sandbox, in
// process, as watch makes it: a full discovery each time, or the Prober
// (a refresh, a full discovery when something changed or every
// FullEvery looks). It prints the statements each look costs the
// servers (their Questions counters). Profile it with
//
//	go test -run '^$' -bench Look -cpuprofile cpu.out ./runtime/watch/
func BenchmarkLook(b *testing.B) {
	sb := sandboxtest.Start(b, sandbox.Options{Servers: 3})
	seeds := sessions(b, sb, 500*time.Millisecond)
	opts := topology.Options{ServerTimeout: 500 * time.Millisecond}
	looks := map[string]func(ctx context.Context) (*topology.Topology, error){
		"discover": func(ctx context.Context) (*topology.Topology, error) { return topology.Discover(ctx, seeds, opts) },
	}
	pr := &Prober{Discover: looks["discover"]}
	looks["prober"] = pr.Look
	for _, name := range []string{"discover", "prober"} {
		look := looks[name]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := look(ctx); err != nil { // every connection open
				b.Fatal(err)
			}
			q0 := questions(b, seeds)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := look(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// Each Questions read is one statement of its own.
			per := float64(questions(b, seeds)-q0-uint64(len(seeds))) / float64(b.N)
			fmt.Printf("look %s: %.1f statements per look on %d servers\n", name, per, len(seeds))
			b.ReportMetric(per, "statements/look")
		})
	}
}

// questions is the sum of the servers' Questions counters (statements
// clients sent, this one included).
func questions(b *testing.B, seeds []*server.Server) uint64 {
	var sum uint64
	for _, sv := range seeds {
		row, err := sv.QueryRow(context.Background(), "SHOW GLOBAL STATUS LIKE 'Questions'")
		if err != nil {
			b.Fatal(err)
		}
		v, _ := row["Value"].(string)
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			b.Fatalf("Questions %q: %v", v, err)
		}
		sum += n
	}
	return sum
}
