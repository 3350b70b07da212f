package gtid

import (
	"fmt"
	"testing"
)

// benchSet builds a gtid_executed of n UUIDs with a few gaps each, the shape
// of a long-lived fleet that went through several failovers.
func benchSet(n int, offset uint64) string {
	s := ""
	for i := 0; i < n; i++ {
		if i > 0 {
			s += ",\n"
		}
		s += fmt.Sprintf("%08x-71ca-11e1-9e33-c80aa9429562:1-%d:%d-%d:%d-%d", i*7919,
			100000+offset, 100002+offset, 250000+offset, 250010+offset, 9000000+offset)
	}
	return s
}

func BenchmarkParseMySQL(b *testing.B) {
	text := benchSet(20, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := ParseMySQL(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkContains(b *testing.B) {
	big, small := mustMySQL(b, benchSet(20, 5)), mustMySQL(b, benchSet(20, 0))
	b.ReportAllocs()
	for b.Loop() {
		if big.Contains(small) {
			b.Fatal("contains")
		}
		if !big.Contains(big) {
			b.Fatal("contains itself")
		}
	}
}

func BenchmarkUnion(b *testing.B) {
	x, y := mustMySQL(b, benchSet(20, 5)), mustMySQL(b, benchSet(20, 0))
	b.ReportAllocs()
	for b.Loop() {
		_ = x.Union(y)
	}
}

func BenchmarkSubtract(b *testing.B) {
	x, y := mustMySQL(b, benchSet(20, 5)), mustMySQL(b, benchSet(20, 0))
	b.ReportAllocs()
	for b.Loop() {
		_ = x.Subtract(y)
	}
}

func BenchmarkStringMySQL(b *testing.B) {
	x := mustMySQL(b, benchSet(20, 0))
	b.ReportAllocs()
	for b.Loop() {
		_ = x.String()
	}
}

func BenchmarkParseMariaDB(b *testing.B) {
	const text = "0-1-1000000,1-2-50,2-3-987654321,3-1-7,10-11-12"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMariaDB(text); err != nil {
			b.Fatal(err)
		}
	}
}
