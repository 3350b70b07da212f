package mycnf

import (
	"fmt"
	"strings"
	"testing"
)

func parseString(t *testing.T, src string) *File {
	t.Helper()
	f, err := Parse(strings.NewReader(src), "my.cnf")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDiff(t *testing.T) {
	show := func(v OptionValue) string {
		switch {
		case !v.Present:
			return "absent"
		case !v.HasValue:
			return "flag"
		}
		return fmt.Sprintf("%q", v.Value)
	}
	cases := map[string]struct {
		before, after string
		want          []string
	}{
		"no change, other spelling and spacing": {
			"[mysqld]\nread_only=1\n# note\n", "[MYSQLD]\n# other note\nread-only = '1'\n", nil},
		"edit, addition, removal": {
			"[mysqld]\nread_only=0\nlog-slave-updates\nport=3306\n",
			"[mysqld]\nread_only=1\nport=3306\nserver-id=7\n",
			[]string{`mysqld read_only "0" -> "1"`, `mysqld server-id absent -> "7"`, `mysqld log-slave-updates flag -> absent`}},
		"last line wins": {
			"[mysqld]\nport=1\nport=2\n", "[mysqld]\nport=2\n", nil},
		"loose- is the same option": {
			"[mysqld]\nloose-gtid_strict_mode=0\n", "[mysqld]\ngtid-strict-mode=1\n",
			[]string{`mysqld gtid-strict-mode "0" -> "1"`}},
		"sections are apart": {
			"[client]\nport=1\n", "[client]\nport=1\n[mysqld]\nport=2\n", []string{`mysqld port absent -> "2"`}},
		"new file": {"", "[mysqld]\nflag\n", []string{"mysqld flag absent -> flag"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, ch := range Diff(parseString(t, c.before), parseString(t, c.after)) {
				got = append(got, fmt.Sprintf("%s %s %s -> %s", ch.Section, ch.Name, show(ch.Before), show(ch.After)))
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
	if d := Diff(nil, parseString(t, "[mysqld]\nport=1\n")); len(d) != 1 || d[0].Before.Present {
		t.Errorf("nil before: %+v", d)
	}
}
