package bindings

import (
	"fmt"
	"sort"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// optKind is what an option accepts.
type optKind int

const (
	optString optKind = iota
	optNumber
	optInt
	optBool
	optDuration // "30s", "500ms", or a number of seconds
	optTable
	optFunction
	optStringOrTable
	optAny
)

func (k optKind) String() string {
	return [...]string{"string", "number", "integer", "boolean", `duration ("30s" or seconds)`,
		"table", "function", "string or table", "any value"}[k]
}

// optSpec lists the keys an options table may have.
type optSpec map[string]optKind

// options is a decoded options table: every key known and of the right
// type. Absent keys read as zero values.
type options struct {
	t *lua.LTable
}

// checkOptions reads argument n as an options table (nil or absent means
// empty). Unknown keys and wrong types raise an error naming the function
// and the key, so a typo cannot pass unnoticed.
func checkOptions(L *lua.LState, n int, fn string, spec optSpec) options {
	lv := L.Get(n)
	if lv == lua.LNil {
		return options{t: L.NewTable()}
	}
	t, ok := lv.(*lua.LTable)
	if !ok {
		L.ArgError(n, fmt.Sprintf("%s: options must be a table, got %s", fn, lv.Type()))
	}
	if err := validateOptions(t, spec); err != nil {
		L.RaiseError("%s: %v", fn, err)
	}
	return options{t: t}
}

func validateOptions(t *lua.LTable, spec optSpec) error {
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		key, isString := k.(lua.LString)
		kind, known := spec[string(key)]
		if !isString || !known {
			err = &unknownKeyError{Key: k.String(), Valid: spec.keys()}
			return
		}
		if !kind.accepts(v) {
			err = fmt.Errorf("option %s: want %s, got %s", key, kind, v.Type())
			return
		}
		if kind == optDuration {
			if _, derr := toDuration(v); derr != nil {
				err = fmt.Errorf("option %s: %v", key, derr)
			}
		}
	})
	return err
}

func (s optSpec) keys() []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (k optKind) accepts(v lua.LValue) bool {
	switch k {
	case optString:
		return v.Type() == lua.LTString
	case optNumber:
		return v.Type() == lua.LTNumber
	case optInt:
		n, ok := v.(lua.LNumber)
		return ok && float64(n) == float64(int64(n))
	case optBool:
		return v.Type() == lua.LTBool
	case optDuration:
		return v.Type() == lua.LTString || v.Type() == lua.LTNumber
	case optTable:
		return v.Type() == lua.LTTable
	case optFunction:
		return v.Type() == lua.LTFunction
	case optStringOrTable:
		return v.Type() == lua.LTString || v.Type() == lua.LTTable
	case optAny:
		return true
	}
	return false
}

func (o options) has(key string) bool { return o.t.RawGetString(key) != lua.LNil }

func (o options) str(key string) string {
	if s, ok := o.t.RawGetString(key).(lua.LString); ok {
		return string(s)
	}
	return ""
}

func (o options) int(key string) int {
	if n, ok := o.t.RawGetString(key).(lua.LNumber); ok {
		return int(n)
	}
	return 0
}

func (o options) bool(key string) bool {
	return lua.LVAsBool(o.t.RawGetString(key))
}

func (o options) duration(key string) time.Duration {
	d, _ := toDuration(o.t.RawGetString(key)) // validated by checkOptions
	return d
}

func (o options) value(key string) lua.LValue { return o.t.RawGetString(key) }

// toDuration reads "30s", "1m30s", "500ms" or a number of seconds.
func toDuration(v lua.LValue) (time.Duration, error) {
	switch x := v.(type) {
	case lua.LNumber:
		if x < 0 {
			return 0, fmt.Errorf("negative duration %v", x)
		}
		return time.Duration(float64(x) * float64(time.Second)), nil
	case lua.LString:
		return parseDuration(string(x))
	case *lua.LNilType:
		return 0, nil
	}
	return 0, fmt.Errorf("want a duration, got %s", v.Type())
}
