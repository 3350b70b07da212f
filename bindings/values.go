package bindings

import (
	"fmt"
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// maxExactInt is the largest integer a Lua 5.1 number (a float64) holds
// exactly. Integers beyond it reach Lua as decimal strings, so no digit of
// a sequence number or an auto-increment id is ever rounded away.
const maxExactInt = 1 << 53

// toLua converts one column value. NULL becomes rep.null, so that a row
// keeps every column as a key and NULL is never confused with the string
// "NULL" or with a missing column.
func (s *State) toLua(v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return s.null
	case int64:
		if x > -maxExactInt && x < maxExactInt {
			return lua.LNumber(x)
		}
		return lua.LString(strconv.FormatInt(x, 10))
	case uint64:
		if x < maxExactInt {
			return lua.LNumber(x)
		}
		return lua.LString(strconv.FormatUint(x, 10))
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	}
	return lua.LString(fmt.Sprint(v))
}

// fromLua converts a Lua argument to a placeholder value.
func (s *State) fromLua(v lua.LValue) (any, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(x), nil
	case lua.LString:
		return string(x), nil
	case lua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return int64(f), nil
		}
		return f, nil
	case *lua.LUserData:
		if x == s.null {
			return nil, nil
		}
		if str, ok := x.Value.(fmt.Stringer); ok {
			if _, isServer := x.Value.(*server.Server); !isServer {
				return str.String(), nil
			}
		}
	}
	return nil, fmt.Errorf("cannot use a %s as an SQL value", v.Type())
}

// resultToLua turns rows into an array of tables keyed by column name, and
// the column names in server order.
func (s *State) resultToLua(L *lua.LState, res *server.Result) (*lua.LTable, *lua.LTable) {
	rows := L.CreateTable(len(res.Rows), 0)
	for i := range res.Rows {
		rows.Append(s.rowToLua(L, res.Columns, res.Rows[i]))
	}
	cols := L.CreateTable(len(res.Columns), 0)
	for _, c := range res.Columns {
		cols.Append(lua.LString(c))
	}
	return rows, cols
}

func (s *State) rowToLua(L *lua.LState, cols []string, row []any) *lua.LTable {
	t := L.CreateTable(0, len(cols))
	for j, c := range cols {
		t.RawSetString(c, s.toLua(row[j]))
	}
	return t
}
