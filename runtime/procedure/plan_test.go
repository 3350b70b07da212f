package procedure

import (
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// The plan keeps what was skipped in order, names each kind, and lists
// the unverified reads once each with how often they ran; statements that
// ran normally are not in it.
func TestPlan(t *testing.T) {
	p := &Plan{}
	db1 := "db1 (127.0.0.1:3306)"
	for _, st := range []server.Statement{
		{Server: db1, SQL: "SELECT 1"},
		{Server: db1, SQL: "SET GLOBAL read_only = ON", Planned: true},
		{Server: db1, SQL: "restart (through systemd mariadb)", Planned: true, Kind: server.KindMachine},
		{Server: db1, SQL: "SHOW SLAVE STATUS", Unverified: true},
		{Server: db1, SQL: "SHOW SLAVE STATUS", Unverified: true},
		{SQL: `sh -c "true"`, Planned: true, Kind: server.KindShell},
	} {
		p.Statement(st)
	}
	var b strings.Builder
	p.Print(&b)
	want := `dry run: 3 change(s) would be made:
  1. db1 (127.0.0.1:3306): SET GLOBAL read_only = ON
  2. db1 (127.0.0.1:3306): machine: restart (through systemd mariadb)
  3. shell: sh -c "true"
dry run: 1 statement(s) ran after a skipped change to their server; their answers are unverified:
     db1 (127.0.0.1:3306): SHOW SLAVE STATUS (2 times)
`
	if b.String() != want {
		t.Errorf("plan:\n%s\nwant:\n%s", b.String(), want)
	}
	if p.Len() != 3 || len(p.Unverified()) != 1 {
		t.Errorf("Len %d, Unverified %d", p.Len(), len(p.Unverified()))
	}
	b.Reset()
	(&Plan{}).Print(&b)
	if !strings.HasPrefix(b.String(), "dry run: nothing would change") {
		t.Errorf("empty plan: %q", b.String())
	}
}
