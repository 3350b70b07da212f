package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	for n, text := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A scenario that would test nothing, or something else than meant, is
// refused with the folder, the file and the line.
func TestLoadRefusesWhatItCannotRun(t *testing.T) {
	root := t.TempDir()
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"typo":      {map[string]string{"args": "run\ncheck\n", "fualt": "kill-primary\n"}, "unknown file fualt"},
		"fault":     {map[string]string{"args": "run\ncheck\n", "fault": "kill-primary\nunplug db2\n"}, `fault:2: unknown fault "unplug db2"`},
		"servers":   {map[string]string{"args": "run\ncheck\n", "servers": "many\n"}, `servers: "many"`},
		"options":   {map[string]string{"args": "run\ncheck\n", "options": "gtid-strict-mode\n"}, `options:1: "gtid-strict-mode": want name=value`},
		"no args":   {map[string]string{"setup.lua": "print(1)\n"}, "no args file"},
		"exit code": {map[string]string{"args": "run\ncheck\n", "exit": "one\n"}, `exit: "one"`},
	}
	for name, c := range cases {
		dir := write(t, filepath.Join(root, strings.ReplaceAll(name, " ", "_")), c.files)
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: %v, want %q naming %s", name, err, c.want, dir)
		}
	}
	s, err := Load(write(t, filepath.Join(root, "good"), map[string]string{"args": "run\nfailover\n", "exit": "1\n",
		"fault": "kill-primary\nwrong-password db2\n", "servers": "4\n", "options": "gtid-strict-mode = 0\n", "play.lua": ""}))
	if err != nil || s.Servers != 4 || s.Exit != 1 || len(s.Faults) != 2 || s.Options["gtid-strict-mode"] != "0" {
		t.Errorf("good: %+v, %v", s, err)
	}
}

// Every built-in scenario loads, from the embedded copy as the binary
// ships it.
func TestBuiltinScenariosLoad(t *testing.T) {
	dir, err := ExtractBuiltin(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	all, err := Find([]string{dir})
	if err != nil || len(all) < 30 {
		t.Fatalf("%d scenarios, %v", len(all), err)
	}
}
