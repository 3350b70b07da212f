package bindings

import (
	"fmt"
	"regexp"
	"strings"
)

// unknownKeyError is a key an options table (or a deployment file) does
// not know. It offers the nearest valid key, since most unknown keys are
// typos: "hots" for host, "prot" for port.
type unknownKeyError struct {
	Key   string
	Valid []string
	// Within names the table the key was found in, when that helps to
	// find its line in a file: a deployment's server.
	Within string
}

func (e *unknownKeyError) Error() string {
	msg := "unknown option " + e.Key
	if near := nearest(e.Key, e.Valid); near != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", near)
	}
	return msg + " (valid: " + strings.Join(e.Valid, ", ") + ")"
}

// nearest is the candidate closest to word by edit distance, when it is
// close enough to be a typo of it (at most a third of the word, and at
// least one edit allowed); "" otherwise.
func nearest(word string, candidates []string) string {
	best, bestDist := "", max(1, len(word)/3)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(word), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance, with a transposition counted
// as one edit (the optimal string alignment distance): "hots" is one edit
// from "host".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// keyLine finds the line of src where key is assigned (`key =`), looking
// from the line where the table named within is assigned when within is
// given (a server's name), so that "port" is found in db2's table and not
// in db1's. 0 when it cannot be found: a table built by code, for
// instance.
func keyLine(src, key, within string) int {
	lines := strings.Split(src, "\n")
	assigns := func(name string) *regexp.Regexp {
		return regexp.MustCompile(`(^|[{,;\s])(` + regexp.QuoteMeta(name) + `|\["` + regexp.QuoteMeta(name) + `"\])\s*=[^=]`)
	}
	from := 0
	if within != "" {
		re := assigns(within)
		for i, l := range lines {
			if re.MatchString(l + " ") {
				from = i
				break
			}
		}
	}
	re := assigns(key)
	for i := from; i < len(lines); i++ {
		if re.MatchString(lines[i] + " ") {
			return i + 1
		}
	}
	return 0
}
