package machine

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSpecFromMap(t *testing.T) {
	s, err := SpecFromMap(map[string]any{
		"ssh": "ops@10.0.0.1", "port": float64(2222), "identity": "/home/ops/.ssh/id",
		"ssh_options": []any{"StrictHostKeyChecking=yes"}, "connect_timeout": "5s",
		"service": "mariadb", "start_timeout": float64(90), "stop_timeout": 1.5,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		SSH: "ops@10.0.0.1", Port: 2222, Identity: "/home/ops/.ssh/id",
		SSHOptions: []string{"StrictHostKeyChecking=yes"}, ConnectTimeout: 5 * time.Second,
		Service: "mariadb", StartTimeout: 90 * time.Second, StopTimeout: 1500 * time.Millisecond,
	}
	if s.SSH != want.SSH || s.Port != want.Port || s.Identity != want.Identity || !slices.Equal(s.SSHOptions, want.SSHOptions) ||
		s.ConnectTimeout != want.ConnectTimeout || s.Service != want.Service || s.StartTimeout != want.StartTimeout || s.StopTimeout != want.StopTimeout {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
	m, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.String(); got != "ssh -p 2222 ops@10.0.0.1 (systemd mariadb)" {
		t.Errorf("String() = %q", got)
	}
}

func TestSpecErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		m    map[string]any
		want string
	}{
		{map[string]any{"servce": "mariadb"}, `unknown key "servce" (known keys: args, binary,`},
		{map[string]any{"service": 1.0}, `key "service": want a string, got float64 1`},
		{map[string]any{"service": ""}, `key "service": empty string`},
		{map[string]any{"ssh": "h", "service": "m", "port": "22"}, `key "port": want an integer, got string 22`},
		{map[string]any{"ssh": "h", "service": "m", "port": 70000.0}, `key "port": 70000: want 1-65535`},
		{map[string]any{"ssh": "h", "service": "m", "port": 22.5}, `key "port": want an integer`},
		{map[string]any{"service": "m", "start_timeout": "soon"}, `key "start_timeout": "soon": want a duration`},
		{map[string]any{"service": "m", "stop_timeout": -1.0}, `key "stop_timeout": -1s: want a positive duration`},
		{map[string]any{"defaults_file": "/x", "args": []any{"--a", 2.0}}, `key "args": item 2: want a string`},
		{map[string]any{"defaults_file": "/x", "args": "--a"}, `key "args": want a list of strings`},
		{map[string]any{"kind": "local", "defaults_file": "/x"}, `key "kind": "local": want "process"`},
		{map[string]any{}, `needs "service" (a systemd unit) or "defaults_file"`},
		{map[string]any{"port": 22.0}, `needs "service"`},
		{map[string]any{"service": "m", "defaults_file": "/x"}, `keys "service" and "defaults_file"`},
		{map[string]any{"kind": "systemd", "service": "m", "pid_file": "/p"}, `key "pid_file": only for kind "process" (this one is "systemd")`},
		{map[string]any{"kind": "process", "service": "m"}, `key "service": only for kind "systemd"`},
		{map[string]any{"kind": "process", "pid_file": "/p"}, `key "defaults_file": required for kind "process"`},
		{map[string]any{"kind": "systemd"}, `key "service": systemd: empty service name`},
		{map[string]any{"service": "m", "port": 22.0}, `key "port": only with ssh`},
		{map[string]any{"service": "m", "identity": "/k"}, `key "identity": only with ssh`},
		{map[string]any{"ssh": "-oProxyCommand=x", "service": "m"}, `key "ssh": ssh: destination "-oProxyCommand=x"`},
		{map[string]any{"ssh": "h", "defaults_file": "my.cnf"}, `key "defaults_file": my.cnf: want an absolute path on the remote host`},
		{map[string]any{"service": "--global"}, `key "service": systemd: service "--global": not a unit name`},
	}
	for _, tt := range tests {
		_, err := SpecFromMap(tt.m)
		if err == nil || !strings.HasPrefix(err.Error(), "machine: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SpecFromMap(%v):\n got  %v\n want machine: …%s…", tt.m, err, tt.want)
		}
	}
}

func TestNewLocalMachines(t *testing.T) {
	m, err := New(Spec{Service: "mariadb@db2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.String(); got != "systemd mariadb@db2" {
		t.Errorf("String() = %q", got)
	}
	m, err = New(Spec{DefaultsFile: "/srv/db1/my.cnf", PidFile: "/srv/db1/mariadbd.pid"})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.String(); got != "local pid file /srv/db1/mariadbd.pid" {
		t.Errorf("String() = %q", got)
	}
	if p := m.(*Process); !p.o.Detach {
		t.Error("a process machine from a deployment must be detached: its server outlives the run")
	}
}
