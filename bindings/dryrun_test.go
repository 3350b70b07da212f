package bindings

import "testing"

func TestLineChanges(t *testing.T) {
	for _, c := range []struct{ old, updated, want string }{
		{"[mysqld]\nread-only = 0\n", "[mysqld]\nread-only = 1\n", "+read-only = 1; -read-only = 0"},
		{"[mysqld]\n", "[mysqld]\nlog-bin = x\n", "+log-bin = x"},
		{"", "[mysqld]\n", "+[mysqld]"},
		{"a\n", "a\n", "no change"},
		{"a\n", "a \n", "whitespace only"},
		{"x\nx\n", "x\n", "-x"},
	} {
		if got := lineChanges([]byte(c.old), []byte(c.updated)); got != c.want {
			t.Errorf("lineChanges(%q, %q) = %q, want %q", c.old, c.updated, got, c.want)
		}
	}
}
