package machine

import "testing"

func TestLastLines(t *testing.T) {
	if got := LastLines("a\nb\n\nc\nd\n\n", 3); got != "b\nc\nd" {
		t.Errorf("LastLines = %q", got)
	}
}
