package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// BenchmarkUp times Up alone (Down and Remove are outside the timer), with
// and without a prepared template, and reports the servers' mean RSS.
//
//	go test -run XXX -bench Up -benchtime 5x ./runtime/sandbox/
func BenchmarkUp(b *testing.B) {
	bin, err := sandbox.FindBinary("")
	if err != nil {
		b.Skip(err)
	}
	for _, servers := range []int{3, 4} {
		for _, cached := range []bool{false, true} {
			b.Run(fmt.Sprintf("servers=%d/template=%v", servers, cached), func(b *testing.B) {
				opts := sandbox.Options{Servers: servers, Binary: bin}
				if cached {
					opts.Template = sandboxtest.Template(b, bin)
				}
				var rss, n float64
				for i := 0; b.Loop(); i++ {
					opts.Dir = filepath.Join(b.TempDir(), strconv.Itoa(i))
					sb, err := sandbox.Up(context.Background(), opts)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					for _, in := range sb.Instances {
						rss += vmRSS(b, in.Pid)
						n++
					}
					if err := sandbox.Down(context.Background(), sb.Dir); err != nil {
						b.Fatal(err)
					}
					if err := sandbox.Remove(sb.Dir); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				b.ReportMetric(rss/n, "MiB-RSS/server")
			})
		}
	}
}

// vmRSS reads VmRSS of pid from /proc/PID/status, in MiB.
func vmRSS(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
