package binlog

import (
	"context"
	"fmt"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/sandbox"
	"github.com/replicant-lua/replicant-lua/runtime/sandbox/sandboxtest"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func TestProbe(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{Servers: 1})
	pw, _ := sb.User.Password()
	in := sb.Primary()
	sv, _ := server.New(server.Config{Name: in.Name, Host: "127.0.0.1", Port: in.Port, User: sb.User.Name, Password: server.Secret(pw)})
	ctx := context.Background()
	for _, q := range []string{"CREATE DATABASE d1", "CREATE TABLE d1.t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO d1.t VALUES (1,'a'),(2,'b'),(3,'c')", "UPDATE d1.t SET v='x'", "DELETE FROM d1.t WHERE id=1", "FLUSH BINARY LOGS", "INSERT INTO d1.t VALUES (9,'z')"} {
		if _, err := sv.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"SHOW BINARY LOGS", "SHOW BINLOG EVENTS", "SHOW BINLOG EVENTS IN 'mysql-bin.000002'", "SELECT BINLOG_GTID_POS('mysql-bin.000001', 4)", "SELECT @@gtid_binlog_pos, @@binlog_annotate_row_events, @@version"} {
		res, err := sv.Query(ctx, q)
		if err != nil {
			t.Log(q, err)
			continue
		}
		fmt.Println("==", q, res.Columns)
		for _, r := range res.Rows {
			fmt.Printf("%q\n", r)
		}
	}
	for _, q := range []string{"SHOW BINLOG EVENTS IN 'nope'", "SHOW BINLOG EVENTS IN 'mysql-bin.000001' FROM 5", "SHOW BINLOG EVENTS IN 'mysql-bin.000001' FROM 999999"} {
		res, err := sv.Query(ctx, q)
		fmt.Println("==", q, err, res)
	}
}
