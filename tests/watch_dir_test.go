package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
)

// watch -d DIR watches each deployment file (*.lua) of the directory as a
// cluster of its own, in name order; other files are not deployments.
func TestWatchDirectoryOfDeployments(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 3})
	src, err := os.ReadFile(sb.DeploymentPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range map[string][]byte{"b.lua": src, "a.lua": src, "notes.txt": []byte("not a deployment")} {
		if err := os.WriteFile(filepath.Join(dir, name), text, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w := startWatch(t, sb, "-d", dir)
	want := []string{sb.DeploymentPath, filepath.Join(dir, "a.lua"), filepath.Join(dir, "b.lua")}
	var got []string
	waitFor(t, "three clusters, each healthy", func() bool {
		resp, err := http.Get("http://" + w.addr + "/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct {
			Clusters []struct {
				Cluster  string `json:"cluster"`
				Verdicts []struct {
					Kind string `json:"Kind"`
				} `json:"verdicts"`
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		got = nil
		healthy := 0
		for _, c := range st.Clusters {
			got = append(got, c.Cluster)
			if len(c.Verdicts) > 0 && c.Verdicts[0].Kind == "healthy" {
				healthy++
			}
		}
		return healthy == len(want)
	})
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("clusters %q, want %q", got, want)
	}
	if !strings.Contains(w.stderr.String(), "watching 3 cluster(s)") {
		t.Errorf("watch's log:\n%s", w.stderr)
	}
}

// A directory without a deployment file is a usage error naming it.
func TestWatchDirectoryWithoutDeployments(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, "", nil, "watch", "-d", dir)
	want := "replicant-lua watch: -d " + dir + ": the directory holds no deployment file (*.lua)"
	if r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, want)
	}
}
