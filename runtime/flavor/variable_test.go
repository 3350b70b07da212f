package flavor

import (
	"strings"
	"testing"
)

func TestSetVariable(t *testing.T) {
	tests := []struct {
		version string
		name    string
		persist bool
		want    string
		err     string
	}{
		{"10.11.6-MariaDB", "read_only", false, "SET GLOBAL read_only = ?", ""},
		{"10.11.6-MariaDB", "read_only", true, "", "mariadb 10.11.6 has no SET PERSIST"},
		{"5.7.44", "read_only", true, "", "mysql 5.7.44 has no SET PERSIST"},
		{"8.0.36", "super_read_only", true, "SET PERSIST super_read_only = ?", ""},
		{"8.4.0", "sync_binlog", false, "SET GLOBAL sync_binlog = ?", ""},
		{"8.4.0", "x; DROP TABLE t", false, "", "is not a variable name"},
		{"8.4.0", "", false, "", "is not a variable name"},
	}
	for _, tt := range tests {
		got, err := MustParse(tt.version).SetVariable(tt.name, tt.persist)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s SetVariable(%q, %v) = %q, %v; want %q, %q", tt.version, tt.name, tt.persist, got, err, tt.want, tt.err)
		}
	}
}

func TestDemoteStatements(t *testing.T) {
	for _, tt := range []struct {
		version string
		want    []string
		keep    bool
	}{
		{"10.11.6-MariaDB", nil, true},
		{"10.6.16-MariaDB", []string{"SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos"}, false},
		{"8.0.36", nil, false},
		{"5.7.44", nil, false},
	} {
		opts := ChangeSourceOptions{Host: "h", DemoteToReplica: true}
		got := MustParse(tt.version).DemoteStatements(&opts)
		if strings.Join(got, ";") != strings.Join(tt.want, ";") || opts.DemoteToReplica != tt.keep {
			t.Errorf("%s: %q, demote kept %v", tt.version, got, opts.DemoteToReplica)
		}
		if !tt.keep && opts.GTID != GTIDAutoPosition {
			t.Errorf("%s: GTID mode %v", tt.version, opts.GTID)
		}
		if _, err := MustParse(tt.version).ChangeSource(opts); err != nil {
			t.Errorf("%s: ChangeSource after DemoteStatements: %v", tt.version, err)
		}
	}
}

func TestUserStatements(t *testing.T) {
	got := MustParse("10.11.6-MariaDB").CreateUser("repl", "%", "it's")
	want := []string{`CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'it''s'`, `ALTER USER 'repl'@'%' IDENTIFIED BY 'it''s'`}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("CreateUser = %q, want %q", got, want)
	}
	for version, want := range map[string]string{
		"10.11.6-MariaDB": "GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR ON *.* TO 'repl'@'%'",
		"10.5.1-MariaDB":  "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%'",
		"8.0.36":          "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%'",
		"8.4.0":           "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'%'",
	} {
		if got := MustParse(version).GrantReplication("repl", "%"); got != want {
			t.Errorf("%s GrantReplication = %q", version, got)
		}
	}
}
