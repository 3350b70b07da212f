package flavor

import (
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// fields is one result row, its columns found by name whatever case a
// driver or a proxy reports them in.
type fields struct {
	cols *layout
	vals []any
}

// layout maps a result's column names to their positions: the exact
// spelling first (the names asked for are the server's own, found
// without lowering them), then the lower-cased one. When two columns
// share a name the later one wins, as in server.Result.Row.
type layout struct {
	names        []string
	exact, lower map[string]int
}

func newLayout(names []string) *layout {
	l := &layout{names: names, exact: make(map[string]int, len(names)), lower: make(map[string]int, len(names))}
	for i, n := range names {
		l.exact[n], l.lower[strings.ToLower(n)] = i, i
	}
	return l
}

func newFields[R ~map[string]V, V any](row R) fields {
	names, vals := make([]string, 0, len(row)), make([]any, 0, len(row))
	for k, v := range row {
		names, vals = append(names, k), append(vals, v)
	}
	return fields{cols: newLayout(names), vals: vals}
}

// rowFields is one row of a result given as columns and values. The
// layout of the last few column lists is kept: a watcher parses the same
// 54 columns of SHOW REPLICA STATUS several times a second per server.
func rowFields(columns []string, row []any) fields {
	return fields{cols: layoutOf(columns), vals: row}
}

var layouts struct {
	mu     sync.Mutex
	recent []*layout // most recently used first
}

const maxLayouts = 16

func layoutOf(columns []string) *layout {
	layouts.mu.Lock()
	defer layouts.mu.Unlock()
	for i, l := range layouts.recent {
		if slices.Equal(l.names, columns) {
			copy(layouts.recent[1:i+1], layouts.recent[:i])
			layouts.recent[0] = l
			return l
		}
	}
	l := newLayout(slices.Clone(columns))
	if len(layouts.recent) < maxLayouts {
		layouts.recent = append(layouts.recent, nil)
	}
	copy(layouts.recent[1:], layouts.recent)
	layouts.recent[0] = l
	return l
}

// get returns the value of the first of names present in the row; several
// names cover a column renamed between versions (Master_Host, Source_Host).
func (fs fields) get(names ...string) (v any, name string, ok bool) {
	for _, n := range names {
		i, ok := fs.cols.exact[n]
		if !ok {
			i, ok = fs.cols.lower[strings.ToLower(n)]
		}
		if ok && i < len(fs.vals) {
			return fs.vals[i], n, true
		}
	}
	return nil, "", false
}

// text reads a text column; NULL and a missing column read as "".
func (fs fields) text(names ...string) (string, error) {
	v, name, ok := fs.get(names...)
	if !ok {
		return "", nil
	}
	s, _, err := textValue(v)
	if err != nil {
		return "", fmt.Errorf("column %s: %w", name, err)
	}
	return s, nil
}

// uint reads a non-negative integer column; NULL and a missing column read
// as 0.
func (fs fields) uint(names ...string) (uint64, error) {
	v, name, ok := fs.get(names...)
	if !ok {
		return 0, nil
	}
	n, _, err := uintValue(v)
	if err != nil {
		return 0, fmt.Errorf("column %s: %w", name, err)
	}
	return n, nil
}

// int reads a signed integer column; NULL and a missing column read as 0.
func (fs fields) int(names ...string) (int64, error) {
	v, name, ok := fs.get(names...)
	if !ok {
		return 0, nil
	}
	n, _, err := intValue(v)
	if err != nil {
		return 0, fmt.Errorf("column %s: %w", name, err)
	}
	return n, nil
}

// nullInt reads a column where NULL means "unknown" and must stay apart
// from 0. In a row of strings, "" and "NULL" stand for NULL.
func (fs fields) nullInt(names ...string) (*int64, error) {
	v, name, ok := fs.get(names...)
	if !ok {
		return nil, nil
	}
	if s, isText, _ := textValue(v); isText && (s == "" || strings.EqualFold(s, "NULL")) {
		return nil, nil
	}
	n, null, err := intValue(v)
	if err != nil {
		return nil, fmt.Errorf("column %s: %w", name, err)
	}
	if null {
		return nil, nil
	}
	return &n, nil
}

// textValue converts what database/sql hands out (string, []byte,
// sql.RawBytes, integers, sql.Null*) to text. The second result is true
// when v held text, false for NULL and numbers.
func textValue(v any) (string, bool, error) {
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return x, true, nil
	case []byte:
		return string(x), true, nil
	case sql.RawBytes:
		return string(x), true, nil
	case sql.NullString:
		return x.String, x.Valid, nil
	case uint64:
		return strconv.FormatUint(x, 10), false, nil
	case int64, int, int32, uint32, float64, sql.NullInt64:
		n, null, err := intValue(x)
		if err != nil || null {
			return "", false, err
		}
		return strconv.FormatInt(n, 10), false, nil
	}
	return "", false, fmt.Errorf("unexpected value of type %T", v)
}

// intValue reads an integer from any of the types database/sql uses; null
// reports SQL NULL. Text must be a decimal integer.
func intValue(v any) (n int64, null bool, err error) {
	switch x := v.(type) {
	case nil:
		return 0, true, nil
	case int64:
		return x, false, nil
	case int:
		return int64(x), false, nil
	case int32:
		return int64(x), false, nil
	case uint32:
		return int64(x), false, nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, false, fmt.Errorf("%d out of range", x)
		}
		return int64(x), false, nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) >= 1<<63 {
			return 0, false, fmt.Errorf("%v is not an integer", x)
		}
		return int64(x), false, nil
	case sql.NullInt64:
		return x.Int64, !x.Valid, nil
	case sql.NullString:
		if !x.Valid {
			return 0, true, nil
		}
		return parseInt(x.String)
	case string:
		return parseInt(x)
	case []byte:
		return parseInt(string(x))
	case sql.RawBytes:
		return parseInt(string(x))
	}
	return 0, false, fmt.Errorf("unexpected value of type %T", v)
}

func parseInt(s string) (int64, bool, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%q is not an integer", s)
	}
	return n, false, nil
}

// uintValue is intValue for columns that can exceed int64 (binlog
// positions are unsigned 64-bit).
func uintValue(v any) (uint64, bool, error) {
	switch x := v.(type) {
	case uint64:
		return x, false, nil
	case string, []byte, sql.RawBytes:
		s, _, _ := textValue(x)
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("%q is not an unsigned integer", s)
		}
		return n, false, nil
	}
	n, null, err := intValue(v)
	if err != nil {
		return 0, false, err
	}
	if n < 0 {
		return 0, false, fmt.Errorf("%d is negative", n)
	}
	return uint64(n), null, nil
}
