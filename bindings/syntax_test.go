package bindings

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestSyntaxMessage(t *testing.T) {
	cases := []struct{ src, want string }{
		{"local x = 1\nif x then\nend end\n", "play.lua:3: syntax error near 'end'"},
		{"x = = 1\n", "play.lua:1: syntax error near '='"},
		{"function f()\n  return 1\n", "play.lua:2: syntax error at the end of the file"},
		{"goto nowhere\n", "play.lua:2: no visible label 'nowhere' for <goto> at line 1"},
	}
	for _, c := range cases {
		L := lua.NewState()
		_, err := L.Load(strings.NewReader(c.src), "play.lua")
		L.Close()
		if err == nil {
			t.Fatalf("%q compiled", c.src)
		}
		got := syntaxMessage(err, sourceLines(c.src))
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%q:\n got %q\nwant %q…", c.src, got, c.want)
		}
	}
}
