package flavor

import (
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// fields is one result row keyed by lower-cased column name, so that a
// column is found whatever case a driver or a proxy reports it in.
type fields map[string]any

func newFields[R ~map[string]V, V any](row R) fields {
	fs := make(fields, len(row))
	for k, v := range row {
		fs[strings.ToLower(k)] = v
	}
	return fs
}

// get returns the value of the first of names present in the row; several
// names cover a column renamed between versions (Master_Host, Source_Host).
func (fs fields) get(names ...string) (v any, name string, ok bool) {
	for _, n := range names {
		if v, ok := fs[strings.ToLower(n)]; ok {
			return v, n, true
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
