package server

import (
	"database/sql"
	"fmt"
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
	cells := make([]cell, len(cols))
	ptrs := make([]any, len(cols))
	for i := range cells {
		ptrs[i] = &cells[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(cols))
		for i, c := range cells {
			if c.err != nil {
				return nil, fmt.Errorf("column %s: %w", cols[i], c.err)
			}
			row[i] = c.v
		}
		res.Rows = append(res.Rows, row)
	}
	return res, rows.Err()
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
