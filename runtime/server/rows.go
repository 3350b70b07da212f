package server

import (
	"database/sql"
	"fmt"
	"sync"
)

// Row is one result row keyed by column name. Values are nil (SQL NULL),
// int64, uint64 (unsigned BIGINT beyond int64), float64, or string (text,
// binary data, DECIMAL kept exact, dates and times as the server prints
// them).
type Row map[string]any

// Result is what a statement returned. Columns keep the server's order.
type Result struct {
	Columns      []string
	Rows         [][]any
	RowsAffected int64
	LastInsertID int64
}

// Row returns row i as a map. When two columns share a name the later one
// wins, as in most client libraries; Columns and Rows keep both.
func (r *Result) Row(i int) Row {
	m := make(Row, len(r.Columns))
	for j, c := range r.Columns {
		m[c] = r.Rows[i][j]
	}
	return m
}

func readRows(rows *sql.Rows) (*Result, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols}
	sc := scratchFor(len(cols))
	defer sc.release()
	for rows.Next() {
		if err := rows.Scan(sc.ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(cols))
		for i, c := range sc.cells {
			if c.err != nil {
				return nil, fmt.Errorf("column %s: %w", cols[i], c.err)
			}
			row[i] = c.v
		}
		res.Rows = append(res.Rows, row)
	}
	return res, rows.Err()
}

// scratch is what readRows scans into, kept between statements: a
// watcher's looks read the 54 columns of replica status of every server
// several times a second.
type scratch struct {
	cells []cell
	ptrs  []any // &cells[i]
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

func scratchFor(n int) *scratch {
	sc := scratches.Get().(*scratch)
	if cap(sc.cells) < n {
		sc.cells, sc.ptrs = make([]cell, n), make([]any, n)
		for i := range sc.cells {
			sc.ptrs[i] = &sc.cells[i]
		}
	}
	sc.cells, sc.ptrs = sc.cells[:n], sc.ptrs[:n]
	return sc
}

// release clears the values (they belong to the Result now) and returns
// sc to the pool.
func (sc *scratch) release() {
	clear(sc.cells)
	scratches.Put(sc)
}

// cell takes one column's value from the driver as it is and normalizes
// it at once: the text protocol's bytes become a string in one copy,
// where a Scan into *any copies them first (a watcher reads 54 columns of
// replica status per server several times a second).
type cell struct {
	v   any
	err error
}

func (c *cell) Scan(src any) error {
	c.v, c.err = normalize(src)
	return nil
}

// normalize maps the driver's values onto the few types Row documents. The
// driver already parses integer and floating columns of the text protocol
// (int64, uint64 for unsigned BIGINT, float32/float64); everything else
// arrives as bytes and stays text, which keeps DECIMAL exact.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, int64, uint64, float64, string:
		return x, nil
	case []byte:
		return string(x), nil
	case float32:
		return float64(x), nil
	case int:
		return int64(x), nil
	}
	return nil, fmt.Errorf("unexpected value of type %T from the driver", v)
}
