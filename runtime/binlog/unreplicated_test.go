package binlog

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

type files map[string]string

func (f files) ReadFile(_ context.Context, path string) ([]byte, error) {
	if s, ok := f[path]; ok {
		return []byte(s), nil
	}
	return nil, fmt.Errorf("%s: no such file", path)
}

func TestUnreplicatedText(t *testing.T) {
	u := Unreplicated{GTIDs: []string{"0-1-1235", "0-1-1236", "0-1-1701"}, Files: []string{"db1-bin.000003"}}
	if got, want := u.Text("db1"), "0-1-1235..0-1-1701, 3 transactions; they are in db1's binary log db1-bin.000003"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := (Unreplicated{}).Text("db1"); got != "none" {
		t.Errorf("empty: %q", got)
	}
}

// A file that is not a binary log, or a missing one, is an error naming
// the file, never an empty answer that would read as "nothing lost".
func TestUnreplicatedInFilesRefusesGarbage(t *testing.T) {
	have, _ := gtid.Parse("0-1-5", gtid.MariaDB)
	fs := files{"/d/mysql-bin.index": "./mysql-bin.000001\n./mysql-bin.000002\n", "/d/mysql-bin.000002": "not a log"}
	_, err := UnreplicatedInFiles(context.Background(), fs, "/d", "mysql-bin", have)
	if err == nil || !strings.Contains(err.Error(), "/d/mysql-bin.000002: not a binary log") {
		t.Errorf("garbage: %v", err)
	}
	_, err = UnreplicatedInFiles(context.Background(), files{}, "/d", "mysql-bin", have)
	if err == nil || !strings.Contains(err.Error(), "index") {
		t.Errorf("no index: %v", err)
	}
}
