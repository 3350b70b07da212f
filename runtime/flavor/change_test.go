package flavor

import (
	"strings"
	"testing"
	"time"
)

var (
	mysql57f   = MustParse("5.7.44")
	mysql84f   = MustParse("8.4.0")
	mariadb106 = MustParse("10.6.21-MariaDB")
	mariadb11  = MustParse("10.11.19-MariaDB")
)

func dur(d time.Duration) *time.Duration { return &d }

func TestChangeSourceShapes(t *testing.T) {
	tests := []struct {
		f    Flavor
		opts ChangeSourceOptions
		want string
	}{
		{mysql84f, ChangeSourceOptions{Password: "new"}, "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = 'new'"},
		{mysql84f, ChangeSourceOptions{User: "repl"}, "CHANGE REPLICATION SOURCE TO SOURCE_USER = 'repl', SOURCE_PASSWORD = ''"},
		{mysql84f, ChangeSourceOptions{GTID: GTIDOff}, "CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION = 0"},
		{mysql57f, ChangeSourceOptions{SSL: SSLOff, Delay: dur(0)}, "CHANGE MASTER TO MASTER_SSL = 0, MASTER_DELAY = 0"},
		{mysql84f, ChangeSourceOptions{SSLVerifyServerCert: SSLOff}, "CHANGE REPLICATION SOURCE TO SOURCE_SSL_VERIFY_SERVER_CERT = 0"},
		{mysql57f, ChangeSourceOptions{Heartbeat: 1500 * time.Millisecond}, "CHANGE MASTER TO MASTER_HEARTBEAT_PERIOD = 1.5"},
		{mariadb11, ChangeSourceOptions{GTID: GTIDCurrentPos}, "CHANGE MASTER TO MASTER_USE_GTID = current_pos"},
		{mariadb11, ChangeSourceOptions{GTID: GTIDAutoPosition, DemoteToReplica: true},
			"CHANGE MASTER TO MASTER_USE_GTID = slave_pos, MASTER_DEMOTE_TO_SLAVE = 1"},
		{mariadb106, ChangeSourceOptions{Host: "db-2.example.com", Port: 3306, File: "mariadb-bin.000016", Pos: 475,
			GTID: GTIDOff}, "CHANGE MASTER TO MASTER_HOST = 'db-2.example.com', MASTER_PORT = 3306, " +
			"MASTER_LOG_FILE = 'mariadb-bin.000016', MASTER_LOG_POS = 475, MASTER_USE_GTID = no"},
		{mariadb106, ChangeSourceOptions{Host: "h", User: "r", Password: "p'\\\x1a🔑"},
			`CHANGE MASTER TO MASTER_HOST = 'h', MASTER_USER = 'r', MASTER_PASSWORD = 'p''\\\Z🔑'`},
	}
	for _, tt := range tests {
		got, err := tt.f.ChangeSource(tt.opts)
		if err != nil || got != tt.want {
			t.Errorf("%s %+v:\n got %q, %v\nwant %q", tt.f, tt.opts, got, err, tt.want)
		}
	}
}

func TestChangeSourceErrors(t *testing.T) {
	tests := []struct {
		name string
		f    Flavor
		opts ChangeSourceOptions
		want string
	}{
		{"nothing", mysql84f, ChangeSourceOptions{}, "no option set"},
		{"file with auto position", mysql84f,
			ChangeSourceOptions{File: "b.000001", Pos: 4, GTID: GTIDAutoPosition}, "conflicts with GTID auto-positioning"},
		{"file with slave_pos", mariadb11,
			ChangeSourceOptions{File: "b.000001", Pos: 4, GTID: GTIDAutoPosition}, "conflicts with GTID auto-positioning"},
		{"file with current_pos", mariadb11,
			ChangeSourceOptions{File: "b.000001", Pos: 4, GTID: GTIDCurrentPos}, "conflicts with GTID auto-positioning"},
		{"file without pos", mysql57f, ChangeSourceOptions{File: "b.000001"}, "positions start at 4"},
		{"pos without file", mysql57f, ChangeSourceOptions{Pos: 120}, "needs a file name"},
		{"pos before the header", mysql57f, ChangeSourceOptions{File: "b.000001", Pos: 3}, "positions start at 4"},
		{"quote in file", mysql57f, ChangeSourceOptions{File: "b'1", Pos: 4}, "not allowed"},
		{"demote on mysql", mysql84f, ChangeSourceOptions{DemoteToReplica: true},
			"mysql 8.4.0 has no MASTER_DEMOTE_TO_SLAVE: it needs MariaDB 10.10 or later"},
		{"demote on 10.6", mariadb106, ChangeSourceOptions{DemoteToReplica: true},
			"mariadb 10.6.21 has no MASTER_DEMOTE_TO_SLAVE: it needs MariaDB 10.10 or later"},
		{"demote with file", mariadb11, ChangeSourceOptions{DemoteToReplica: true, File: "b.000001", Pos: 4},
			"conflicts with demote to replica"},
		{"demote with no gtid", mariadb11, ChangeSourceOptions{DemoteToReplica: true, GTID: GTIDOff},
			"demote to replica needs GTID auto-positioning"},
		{"demote with current_pos", mariadb11, ChangeSourceOptions{DemoteToReplica: true, GTID: GTIDCurrentPos},
			"demote to replica needs GTID auto-positioning"},
		{"current_pos on mysql", mysql57f, ChangeSourceOptions{GTID: GTIDCurrentPos}, "mysql 5.7.44 has no MASTER_USE_GTID"},
		{"bad gtid mode", mysql57f, ChangeSourceOptions{GTID: 9}, "unknown GTID mode 9"},
		{"bad ssl mode", mysql57f, ChangeSourceOptions{SSL: 7}, "unknown SSL mode 7"},
		{"ca with ssl off", mysql57f, ChangeSourceOptions{SSL: SSLOff, SSLCA: "/ca.pem"}, "SSL CA given with SSL off"},
		{"verify with ssl off", mariadb11, ChangeSourceOptions{SSL: SSLOff, SSLVerifyServerCert: SSLOn}, "server certificate verification with SSL off"},
		{"bad verify mode", mariadb11, ChangeSourceOptions{SSLVerifyServerCert: 3}, "unknown SSL server certificate verification mode 3"},
		{"port", mysql57f, ChangeSourceOptions{Port: 65536}, "port 65536 out of range"},
		{"negative port", mysql57f, ChangeSourceOptions{Port: -1}, "port -1 out of range"},
		{"newline in password", mysql57f, ChangeSourceOptions{Password: "a\nb"}, "password contains"},
		{"NUL in user", mariadb11, ChangeSourceOptions{User: "a\x00"}, "user contains"},
		{"CR in host", mariadb11, ChangeSourceOptions{Host: "h\r"}, "host contains"},
		{"fractional retry", mysql57f, ChangeSourceOptions{ConnectRetry: 1500 * time.Millisecond}, "connect retry"},
		{"negative retry", mysql57f, ChangeSourceOptions{ConnectRetry: -time.Second}, "connect retry"},
		{"sub-ms heartbeat", mysql57f, ChangeSourceOptions{Heartbeat: time.Microsecond}, "heartbeat"},
		{"huge heartbeat", mysql57f, ChangeSourceOptions{Heartbeat: 4294968 * time.Second}, "heartbeat"},
		{"fractional delay", mysql57f, ChangeSourceOptions{Delay: dur(time.Millisecond)}, "delay"},
		{"negative delay", mysql57f, ChangeSourceOptions{Delay: dur(-time.Second)}, "delay"},
		{"huge delay", mysql57f, ChangeSourceOptions{Delay: dur(1 << 31 * time.Second)}, "delay"},
	}
	for _, tt := range tests {
		got, err := tt.f.ChangeSource(tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got (%q, %v), want an error containing %q", tt.name, got, err, tt.want)
		}
	}
}

// Errors must never carry the password.
func TestChangeSourceErrorsHideSecrets(t *testing.T) {
	const secret = "hunter2-Secret"
	for _, opts := range []ChangeSourceOptions{
		{Password: secret + "\n"},
		{Password: secret, Port: -1},
		{Password: secret, File: "b", Pos: 1},
		{Password: secret, DemoteToReplica: true},
	} {
		_, err := mysql84f.ChangeSource(opts)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %v leaks or is missing", err)
		}
	}
}

func TestStartReplicaUntil(t *testing.T) {
	tests := []struct {
		f    Flavor
		t    Threads
		u    Until
		want string
	}{
		{mysql84f, BothThreads, UntilAfter(" 3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n4e11fa47-71ca-11e1-9e33-c80aa9429562:tag_1:1-2 "),
			"START REPLICA UNTIL SQL_AFTER_GTIDS = '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5," +
				"4e11fa47-71ca-11e1-9e33-c80aa9429562:tag_1:1-2'"},
		{mysql57f, BothThreads, UntilPosition("b.000002", 4), "START SLAVE UNTIL MASTER_LOG_FILE = 'b.000002', MASTER_LOG_POS = 4"},
		{mariadb11, SQLThread, UntilPosition("b.000002", 4), "START REPLICA SQL_THREAD UNTIL MASTER_LOG_FILE = 'b.000002', MASTER_LOG_POS = 4"},
	}
	for _, tt := range tests {
		got, err := tt.f.StartReplicaUntil(tt.t, tt.u)
		if err != nil || got != tt.want {
			t.Errorf("%s %v %+v:\n got %q, %v\nwant %q", tt.f, tt.t, tt.u, got, err, tt.want)
		}
	}
	errs := []struct {
		f    Flavor
		t    Threads
		u    Until
		want string
	}{
		{mysql84f, IOThread, UntilPosition("b.1", 4), "needs the SQL thread, not the io thread alone"},
		{mariadb11, SQLThread, UntilAfter("0-1-5"), "only when starting both threads"},
		{mariadb11, BothThreads, UntilBefore("0-1-5"), "has no SQL_BEFORE_GTIDS"},
		{mysql84f, BothThreads, UntilAfter(" \n"), "empty GTID set"},
		{mysql84f, BothThreads, UntilAfter("uuid:1-5'; DROP TABLE x"), "not allowed"},
		{mysql84f, BothThreads, UntilPosition("b\\1", 4), "not allowed"},
		{mysql84f, BothThreads, UntilPosition("", 4), "needs a file name"},
		{mysql84f, BothThreads, Until{}, "unknown until kind 0"},
	}
	for _, tt := range errs {
		got, err := tt.f.StartReplicaUntil(tt.t, tt.u)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %v %+v: got (%q, %v), want error %q", tt.f, tt.t, tt.u, got, err, tt.want)
		}
	}
}

func TestSetReadOnlyUnknown(t *testing.T) {
	for _, f := range []Flavor{mysql57f, mariadb11} {
		if s, err := f.SetReadOnly(ReadOnly(9)); err == nil {
			t.Errorf("%s: SetReadOnly(9) = %q, want an error", f, s)
		}
	}
	if !mysql57f.SupportsSuperReadOnly() || mariadb11.SupportsSuperReadOnly() {
		t.Error("SupportsSuperReadOnly: want MySQL only")
	}
	if mariadb106.SupportsDemoteToReplica() || !mariadb11.SupportsDemoteToReplica() || mysql84f.SupportsDemoteToReplica() {
		t.Error("SupportsDemoteToReplica: want MariaDB 10.10+ only")
	}
}

func TestThreadsOutOfRange(t *testing.T) {
	if got := mysql84f.StopReplica(Threads(7)); got != "STOP REPLICA" {
		t.Errorf("StopReplica(7) = %q", got)
	}
	if BothThreads.String() != "both threads" || SQLThread.String() != "sql thread" {
		t.Error("Threads.String")
	}
}

// The zero Flavor takes the oldest MySQL syntax.
func TestZeroFlavor(t *testing.T) {
	var f Flavor
	if got := f.StartReplica(BothThreads); got != "START SLAVE" {
		t.Errorf("zero flavor: %q", got)
	}
	if got := f.BinlogStatusQuery(); got != "SHOW MASTER STATUS" {
		t.Errorf("zero flavor: %q", got)
	}
}
