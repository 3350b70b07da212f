package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replicant-lua/replicant-lua/runtime/flavor"
	"github.com/replicant-lua/replicant-lua/runtime/server"
)

func TestParseToolVersion(t *testing.T) {
	for _, c := range []struct{ out, want string }{
		{"mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n", "mariadb 10.11.19"},
		{"mariadb-dump from 11.4.2-MariaDB, client 10.19 for debian-linux-gnu (x86_64)", "mariadb 11.4.2"},
		{"mariadb  Ver 15.1 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64) using  EditLine wrapper", "mariadb 10.11.19"},
		{"mariadb-backup based on MariaDB server 10.11.19-MariaDB debian-linux-gnu (x86_64)", "mariadb 10.11.19"},
		{"mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)", "mysql 8.0.36"},
		{"mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)", "mysql 5.7.44"},
		{"mysql  Ver 8.4.0 for Linux on x86_64 (MySQL Community Server - GPL)", "mysql 8.4.0"},
		{"xtrabackup version 8.0.35-30 based on MySQL server 8.0.35 Linux (x86_64) (revision id: 6beb4b49)", "mysql 8.0.35"},
	} {
		f, err := parseToolVersion(c.out)
		if err != nil || f.String() != c.want {
			t.Errorf("parseToolVersion(%q) = %v, %v; want %s", c.out, f, err, c.want)
		}
	}
	if _, err := parseToolVersion("something else"); err == nil {
		t.Error("no version: want an error")
	}
}

func TestDumpArgs(t *testing.T) {
	for _, c := range []struct{ tool, want string }{
		{"10.11.19-MariaDB", "--master-data=2 --gtid"},
		{"11.4.2-MariaDB", "--master-data=2 --gtid"},
		{"8.0.25", "--master-data=2"},
		{"8.0.26", "--source-data=2"},
		{"8.4.0", "--source-data=2"},
		{"5.7.44", "--master-data=2"},
	} {
		got := strings.Join(dumpArgs(flavor.MustParse(c.tool)), " ")
		if !strings.HasSuffix(got, c.want) || !strings.HasPrefix(got, "--single-transaction --all-databases --routines --events --triggers") {
			t.Errorf("dumpArgs(%s) = %s; want ... %s", c.tool, got, c.want)
		}
	}
}

// Header and trailer of a real mariadb-dump 10.11.19 run (--master-data=2
// --gtid): the GTID comes at the end, after mysql.gtid_slave_pos.
const mariaHead = `/*M!999999\- enable the sandbox mode */ 
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
-- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;

-- A corresponding to the above master-data CHANGE-MASTER settings to the slave gtid state is printed later in the file.

--
-- Alternately, following is the position of the binary logging from SHOW MASTER STATUS at point of backup.
--

-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=1268;
`

const mariaTail = `
-- The deferred gtid setting for slave corresponding to the master-data CHANGE-MASTER follows

-- Preferably use GTID to start replication from GTID position:

-- SET GLOBAL gtid_slave_pos='0-1-5,1-2-9';
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

-- Dump completed on 2026-11-24  6:10:14
`

const mysqlHead = `-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;
SET @@SESSION.SQL_LOG_BIN= 0;

--
-- GTID state at the beginning of the backup 
--

SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,
4e11fa47-71ca-11e1-9e33-c80aa9429562:1-3';

--
-- Position to start replication or point-in-time recovery from
--

-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000002', SOURCE_LOG_POS=157;
`

const mysql57Head = `-- MySQL dump 10.13  Distrib 5.7.44, for Linux (x86_64)
SET @@GLOBAL.GTID_PURGED='3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5';
-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000003', MASTER_LOG_POS=154;
`

func TestParseDumpCoordinates(t *testing.T) {
	maria, mysql := flavor.MustParse("10.11.19-MariaDB"), flavor.MustParse("8.0.36")
	done := "\n-- Dump completed on 2026-11-24 6:10:14\n"
	for _, c := range []struct {
		name, head, tail string
		fl               flavor.Flavor
		pos, gtid, err   string
	}{
		{"mariadb", mariaHead, mariaTail, maria, "mysql-bin.000001:1268", "0-1-5,1-2-9", ""},
		{"mariadb small file", mariaHead + mariaTail, mariaHead + mariaTail, maria, "mysql-bin.000001:1268", "0-1-5,1-2-9", ""},
		{"mysql 8.0", mysqlHead, done, mysql, "binlog.000002:157",
			"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,4e11fa47-71ca-11e1-9e33-c80aa9429562:1-3", ""},
		{"mysql 5.7", mysql57Head, done, flavor.MustParse("5.7.44"), "mysql-bin.000003:154", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", ""},
		{"mysql without gtid", "-- CHANGE MASTER TO MASTER_LOG_FILE='b.000001', MASTER_LOG_POS=4;\n", done, mysql, "b.000001:4", "", ""},
		{"truncated", mariaHead, "INSERT INTO t VALUES (1", maria, "", "", "incomplete"},
		{"no position", "-- MariaDB dump\n", mariaTail, maria, "", "", "binlog position"},
		{"no gtid", mariaHead, done, maria, "", "", "gtid_slave_pos"},
		{"bad gtid", mariaHead, "-- SET GLOBAL gtid_slave_pos='x';" + done, maria, "", "", "GTID"},
	} {
		pos, g, err := parseDumpCoordinates(c.head, c.tail, c.fl)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v; want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || pos != c.pos || g != c.gtid {
			t.Errorf("%s: = %q, %q, %v; want %q, %q", c.name, pos, g, err, c.pos, c.gtid)
		}
	}
}

func TestDumpEndsLargeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dump.sql")
	body := strings.Repeat("INSERT INTO t VALUES (1,'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');\n", 20000) // ≈1 MB
	if err := os.WriteFile(path, []byte(mariaHead+body+mariaTail), 0o600); err != nil {
		t.Fatal(err)
	}
	pos, g, err := readDumpCoordinates(path, flavor.MustParse("10.11.19-MariaDB"))
	if err != nil || pos != "mysql-bin.000001:1268" || g != "0-1-5,1-2-9" {
		t.Fatalf("= %q, %q, %v", pos, g, err)
	}
}

func TestParseBinlogInfo(t *testing.T) {
	for _, c := range []struct {
		text    string
		mariadb bool
		pos, g  string
	}{
		{"mysql-bin.000001\t1268\t0-1-5\n", true, "mysql-bin.000001:1268", "0-1-5"},
		{"mysql-bin.000001\t1268\t\n", true, "mysql-bin.000001:1268", ""},
		{"binlog.000003\t157\t3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n4e11fa47-71ca-11e1-9e33-c80aa9429562:1-3\n", false,
			"binlog.000003:157", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,4e11fa47-71ca-11e1-9e33-c80aa9429562:1-3"},
	} {
		pos, g, err := parseBinlogInfo(c.text, c.mariadb)
		if err != nil || pos != c.pos || g != c.g {
			t.Errorf("parseBinlogInfo(%q) = %q, %q, %v", c.text, pos, g, err)
		}
	}
	for _, bad := range []string{"", "mysql-bin.000001", "mysql-bin.000001\tx\t0-1-5", "f\t4\tnot-a-gtid"} {
		if _, _, err := parseBinlogInfo(bad, true); err == nil {
			t.Errorf("parseBinlogInfo(%q): want an error", bad)
		}
	}
}

func TestClientOptions(t *testing.T) {
	pw := `p#a"s s\w'o;rd` + "\n"
	cfg := server.Config{User: "bk", Password: server.Secret(pw), Host: "localhost", Port: 3307}
	got := clientOptions(cfg, flavor.MustParse("10.11.19-MariaDB"))
	want := "user = \"bk\"\npassword = \"p#a\\\"s s\\\\w'o;rd\\n\"\nhost = \"localhost\"\nport = 3307\nprotocol = tcp\n"
	if got != want {
		t.Errorf("clientOptions =\n%s\nwant\n%s", got, want)
	}
	cfg = server.Config{User: "u", Socket: "/run/x.sock", TLS: server.TLSConfig{Mode: server.TLSVerify, CA: "/ca.pem"}}
	if got := clientOptions(cfg, flavor.MustParse("10.11.19-MariaDB")); !strings.Contains(got, "socket = \"/run/x.sock\"\nprotocol = socket\nssl\nssl-verify-server-cert\nssl-ca = \"/ca.pem\"\n") {
		t.Errorf("mariadb socket+tls:\n%s", got)
	}
	if got := clientOptions(cfg, flavor.MustParse("8.0.36")); !strings.Contains(got, "ssl-mode = VERIFY_IDENTITY\nssl-ca") {
		t.Errorf("mysql tls:\n%s", got)
	}
}

func TestOptionFileMode(t *testing.T) {
	cfg := server.Config{User: "u", Password: "secret-pw", Host: "127.0.0.1", Port: 3306}
	of, err := newOptionFile(cfg, tool{path: "/usr/bin/mariadb-dump", version: flavor.MustParse("10.11.19-MariaDB")})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(of.path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("option file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	di, _ := os.Stat(of.dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("option dir mode = %v; want 0700", di.Mode())
	}
	if strings.Contains(of.arg(), "secret-pw") || strings.Contains(strings.Join(dumpArgs(flavor.MustParse("10.11.19-MariaDB")), " "), "secret-pw") {
		t.Error("password on the command line")
	}
	of.cleanup()
	if _, err := os.Stat(of.dir); !os.IsNotExist(err) {
		t.Errorf("option dir left behind: %v", err)
	}
}

func TestTailScrubs(t *testing.T) {
	tb := newTail()
	for i := 0; i < 2000; i++ {
		tb.Write([]byte("noise line\n"))
	}
	tb.Write([]byte("mariadb-dump: Got error: 1045: Access denied for user 'u' (using password: hunter2)\n\n"))
	got := tb.lines(2, "hunter2")
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "(using password: ******)") || strings.Count(got, "\n") != 1 {
		t.Errorf("tail = %q", got)
	}
}
