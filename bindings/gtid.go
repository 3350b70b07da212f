package bindings

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

const (
	positionTypeName = "replicant.position"
	gtidTypeName     = "replicant.gtid"
)

// Positions and GTID sets are immutable userdata: printable, comparable
// with ==, and (positions only) ordered with <. GTID sets are partially
// ordered, so < raises and points to :contains.

func (s *State) registerValueTypes() {
	L := s.L
	pm := L.NewTypeMetatable(positionTypeName)
	pm.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(checkPosition(L, 1).String()))
		return 1
	}))
	pm.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(checkPosition(L, 1) == checkPosition(L, 2)))
		return 1
	}))
	pm.RawSetString("__lt", L.NewFunction(func(L *lua.LState) int { return comparePositions(L, -1) }))
	pm.RawSetString("__le", L.NewFunction(func(L *lua.LState) int { return comparePositions(L, 0) }))
	pm.RawSetString("__index", L.NewFunction(positionIndex))
	pm.RawSetString("__newindex", L.NewFunction(immutable))

	gm := L.NewTypeMetatable(gtidTypeName)
	gm.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(checkGTID(L, 1).String()))
		return 1
	}))
	gm.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(checkGTID(L, 1).Equal(checkGTID(L, 2))))
		return 1
	}))
	partial := L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("GTID sets are only partially ordered: use a:contains(b) instead of < or <=")
		return 0
	})
	gm.RawSetString("__lt", partial)
	gm.RawSetString("__le", partial)
	gm.RawSetString("__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"contains": s.gtidContains,
		"union":    s.gtidCombine("union", gtid.Set.Union),
		"subtract": s.gtidCombine("subtract", gtid.Set.Subtract),
		"is_empty": func(L *lua.LState) int { L.Push(lua.LBool(checkGTID(L, 1).IsEmpty())); return 1 },
		"flavor":   func(L *lua.LState) int { L.Push(lua.LString(checkGTID(L, 1).Flavor())); return 1 },
	}))
	gm.RawSetString("__newindex", L.NewFunction(immutable))
}

func immutable(L *lua.LState) int {
	L.RaiseError("%s values are immutable (tried to set %s)", L.Get(1).Type(), L.Get(2))
	return 0
}

func checkPosition(L *lua.LState, n int) gtid.Position {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if p, ok := ud.Value.(gtid.Position); ok {
			return p
		}
	}
	L.ArgError(n, "binlog position expected")
	return gtid.Position{}
}

func checkGTID(L *lua.LState, n int) gtid.Set {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if g, ok := ud.Value.(gtid.Set); ok {
			return g
		}
	}
	L.ArgError(n, "GTID set expected")
	return gtid.Set{}
}

func newValue(L *lua.LState, v any, typeName string) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = v
	L.SetMetatable(ud, L.GetTypeMetatable(typeName))
	return ud
}

func pushPosition(L *lua.LState, p gtid.Position) {
	L.Push(newValue(L, p, positionTypeName))
}

func pushGTID(L *lua.LState, g gtid.Set) {
	L.Push(newValue(L, g, gtidTypeName))
}

// positionIndex serves p.file and p.pos.
func positionIndex(L *lua.LState) int {
	p := checkPosition(L, 1)
	switch L.CheckString(2) {
	case "file":
		L.Push(lua.LString(p.File))
	case "pos":
		L.Push(lua.LNumber(p.Pos))
	default:
		L.Push(lua.LNil)
	}
	return 1
}

// comparePositions implements < (want -1) and <= (want 0 or -1). Positions
// in different binary logs have no order: that raises.
func comparePositions(L *lua.LState, want int) int {
	c, err := checkPosition(L, 1).Compare(checkPosition(L, 2))
	if err != nil {
		L.RaiseError("%v", err)
	}
	L.Push(lua.LBool(c == -1 || (want == 0 && c == 0)))
	return 1
}

// rep.position(file, pos) or rep.position("file:pos").
func (s *State) repPosition(L *lua.LState) int {
	var p gtid.Position
	var err error
	if L.GetTop() == 1 {
		p, err = gtid.ParsePosition(L.CheckString(1))
	} else {
		p, err = gtid.ParsePosition(L.CheckString(1) + ":" + L.CheckNumber(2).String())
	}
	if err != nil {
		L.RaiseError("position: %v", err)
	}
	pushPosition(L, p)
	return 1
}

// rep.gtid(text, flavor): flavor is "mysql" or "mariadb"; without it the
// text's shape decides (a UUID is MySQL, domain-server-seq is MariaDB).
func (s *State) repGTID(L *lua.LState) int {
	text := L.CheckString(1)
	var set gtid.Set
	var err error
	if L.GetTop() >= 2 {
		set, err = gtid.Parse(text, gtid.Flavor(L.CheckString(2)))
	} else {
		set, err = gtid.ParseAny(text)
	}
	if err != nil {
		L.RaiseError("gtid: %v", err)
	}
	pushGTID(L, set)
	return 1
}

// toGTID accepts a GTID set value or text in the flavor of the receiver.
func toGTID(L *lua.LState, n int, flavor gtid.Flavor) gtid.Set {
	if s, ok := L.Get(n).(lua.LString); ok {
		set, err := gtid.Parse(string(s), flavor)
		if err != nil {
			L.ArgError(n, err.Error())
		}
		return set
	}
	return checkGTID(L, n)
}

func (s *State) gtidContains(L *lua.LState) int {
	a := checkGTID(L, 1)
	ok, err := a.Contains(toGTID(L, 2, a.Flavor()))
	if err != nil {
		L.RaiseError("contains: %v", err)
	}
	L.Push(lua.LBool(ok))
	return 1
}

func (s *State) gtidCombine(name string, op func(gtid.Set, gtid.Set) (gtid.Set, error)) lua.LGFunction {
	return func(L *lua.LState) int {
		a := checkGTID(L, 1)
		out, err := op(a, toGTID(L, 2, a.Flavor()))
		if err != nil {
			L.RaiseError("%s: %v", name, err)
		}
		pushGTID(L, out)
		return 1
	}
}
