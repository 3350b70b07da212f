package bindings

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// parseDuration is the one way a duration is read, from an option, a
// command line or a script: Go's time.ParseDuration ("2m", "1h30m",
// "500ms") or bare seconds ("30", "1.5"). Negative durations are refused.
func parseDuration(text string) (time.Duration, error) {
	text = strings.TrimSpace(text)
	d, err := time.ParseDuration(text)
	if err != nil {
		secs, nerr := strconv.ParseFloat(text, 64)
		if nerr != nil || secs != secs { // NaN
			return 0, fmt.Errorf("%q is not a duration like \"30s\", \"2m\" or \"500ms\" (or bare seconds)", text)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", text)
	}
	return d, nil
}

// rep.duration(v) → seconds: v is a number of seconds or a string such as
// "2m", "1h30m", "500ms" or "30". A bad value raises a usage error.
func (s *State) repDuration(L *lua.LState) int {
	d, err := toDuration(L.CheckAny(1))
	if err != nil {
		L.ArgError(1, err.Error())
	}
	L.Push(lua.LNumber(d.Seconds()))
	return 1
}
