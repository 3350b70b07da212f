package bindings

import "testing"

func TestNearest(t *testing.T) {
	valid := []string{"host", "port", "socket", "machine", "promotion", "server_id"}
	for word, want := range map[string]string{
		"hots": "host", "prot": "port", "sockt": "socket", "machin": "machine",
		"server_di": "server_id", "colour": "", "x": "",
	} {
		if got := nearest(word, valid); got != want {
			t.Errorf("nearest(%q) = %q, want %q", word, got, want)
		}
	}
}

func TestKeyLine(t *testing.T) {
	src := `return {
  servers = {
    db1 = { host = "127.0.0.1", port = 3306 },
    db2 = { host = "127.0.0.1",
            prot = 3307 },
    ["db3"] = { hots = "x" },
  },
}`
	for _, c := range []struct {
		key, within string
		want        int
	}{
		{"prot", "db2", 5}, {"port", "db1", 3}, {"hots", "db3", 6}, {"servers", "", 2}, {"nope", "db1", 0},
	} {
		if got := keyLine(src, c.key, c.within); got != c.want {
			t.Errorf("keyLine(%q in %q) = %d, want %d", c.key, c.within, got, c.want)
		}
	}
}
