package gtid

import "slices"

// interval is a closed range of sequence numbers, 1 <= start <= end <=
// maxGNO. Because maxGNO < MaxUint64, end+1 never overflows, which keeps the
// arithmetic below free of special cases.
type interval struct {
	start, end uint64
}

// normalizeIntervals sorts ivs and merges overlapping and adjacent ranges,
// as MySQL does when it adds an interval (1-5 and 6-7 become 1-7). It
// reuses ivs, so it is only for slices the caller owns.
func normalizeIntervals(ivs []interval) []interval {
	if !slices.IsSortedFunc(ivs, cmpStart) {
		slices.SortFunc(ivs, cmpStart)
	}
	out := ivs[:0]
	for _, iv := range ivs {
		out = appendCoalesce(out, iv)
	}
	return out
}

func cmpStart(a, b interval) int {
	switch {
	case a.start < b.start:
		return -1
	case a.start > b.start:
		return 1
	}
	return 0
}

// appendCoalesce appends iv to a sorted, merged list, merging it with the
// last range when they touch. iv must not start before the last range.
func appendCoalesce(out []interval, iv interval) []interval {
	if n := len(out); n > 0 && iv.start <= out[n-1].end+1 {
		if iv.end > out[n-1].end {
			out[n-1].end = iv.end
		}
		return out
	}
	return append(out, iv)
}

// unionIntervals merges two normalized lists into a new one.
func unionIntervals(a, b []interval) []interval {
	out := make([]interval, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || (i < len(a) && a[i].start <= b[j].start) {
			out = appendCoalesce(out, a[i])
			i++
		} else {
			out = appendCoalesce(out, b[j])
			j++
		}
	}
	return out
}

// subtractIntervals returns the numbers of a that are not in b, as a new
// normalized list (nil when nothing is left).
func subtractIntervals(a, b []interval) []interval {
	var out []interval
	j := 0
	for _, iv := range a {
		for j < len(b) && b[j].end < iv.start {
			j++
		}
		start, covered := iv.start, false
		// b[k] may also overlap the next range of a, so j stays put.
		for k := j; k < len(b) && b[k].start <= iv.end; k++ {
			if b[k].start > start {
				out = append(out, interval{start, b[k].start - 1})
			}
			if b[k].end >= iv.end {
				covered = true
				break
			}
			start = b[k].end + 1
		}
		if !covered {
			out = append(out, interval{start, iv.end})
		}
	}
	return out
}

// containsIntervals reports whether every number of b is in a. Both lists
// are normalized, so each range of b must fit inside a single range of a.
func containsIntervals(a, b []interval) bool {
	i := 0
	for _, iv := range b {
		for i < len(a) && a[i].end < iv.start {
			i++
		}
		if i == len(a) || a[i].start > iv.start || a[i].end < iv.end {
			return false
		}
	}
	return true
}
