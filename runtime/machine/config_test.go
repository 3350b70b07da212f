package machine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestResolveFiles(t *testing.T) {
	tests := []struct {
		name string
		opts []string
		o    ProcessOptions
		want serverFiles
	}{{
		name: "absolute paths",
		opts: []string{"--datadir=/d/data", "--pid-file=/run/x.pid", "--log-error=/log/e.log"},
		want: serverFiles{dataDir: "/d/data", pidFile: "/run/x.pid", errorLog: "/log/e.log", consoleLog: "/d/data.console.log"},
	}, {
		// As mariadbd 10.11 does: relative to the datadir, ".err" added,
		// nothing added to a pid file.
		name: "relative names",
		opts: []string{"--datadir=/d/data/", "--pid_file=sub/p", "--log_error=errlog"},
		want: serverFiles{dataDir: "/d/data", pidFile: "/d/data/sub/p", errorLog: "/d/data/errlog.err", consoleLog: "/d/data.console.log"},
	}, {
		name: "bare log-error is the pid file's name",
		opts: []string{"--datadir=/d", "--pid-file=/run/m/db1.pid", "--log-error"},
		want: serverFiles{dataDir: "/d", pidFile: "/run/m/db1.pid", errorLog: "/run/m/db1.err", consoleLog: "/d.console.log"},
	}, {
		name: "no pid-file: ours, passed",
		opts: []string{"--datadir=/d"},
		want: serverFiles{dataDir: "/d", pidFile: "/d/mariadbd.pid", passPid: true, consoleLog: "/d.console.log"},
	}, {
		name: "options override the file",
		opts: []string{"--datadir=/d", "--pid-file=/a.pid", "--loose-log-error=/e.log"},
		o:    ProcessOptions{PidFile: "/b.pid", ErrorLog: "/other.log", ConsoleLog: "/c.log"},
		want: serverFiles{dataDir: "/d", pidFile: "/b.pid", passPid: true, errorLog: "/other.log", consoleLog: "/c.log"},
	}, {
		name: "same pid file is not passed",
		opts: []string{"--pid-file=/a.pid"},
		o:    ProcessOptions{PidFile: "/a.pid"},
		want: serverFiles{pidFile: "/a.pid", consoleLog: "/a.console.log"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveFiles(parseOptions(tt.opts), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := resolveFiles(parseOptions([]string{"--port=1"}), ProcessOptions{}); err == nil {
		t.Error("no datadir and no pid file: want an error")
	}
}

// files reads the option file through my_print_defaults: includes,
// groups, quoting and the command line as mariadbd sees them.
func TestFilesFromOptionFile(t *testing.T) {
	if _, err := exec.LookPath(printDefaults); err != nil {
		need(t, err, "install mariadb-client-core (a dependency of mariadb-server)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf.d")
	os.Mkdir(conf, 0o755)
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "my.cnf"), "[client]\npid-file=/wrong\n[mysqld]\ndatadir = \"/srv/my data\"  # comment\n!includedir "+conf+"\n")
	write(filepath.Join(conf, "50-server.cnf"), "[mariadbd]\npid-file = /run/early.pid\nlog-error\n")
	write(filepath.Join(conf, "60-later.cnf"), "[server]\npid_file = late.pid\n")
	write(filepath.Join(conf, "ignored.txt"), "[mysqld]\ndatadir=/nope\n")
	p, err := NewProcess(ProcessOptions{DefaultsFile: filepath.Join(dir, "my.cnf"), Args: []string{"--log-error=/var/log/e.log"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.files(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := serverFiles{dataDir: "/srv/my data", pidFile: "/srv/my data/late.pid", errorLog: "/var/log/e.log", consoleLog: "/srv/my data.console.log"}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	p, _ = NewProcess(ProcessOptions{DefaultsFile: filepath.Join(dir, "missing.cnf")})
	_, err = p.files(context.Background())
	contains(t, err, "reading option file "+filepath.Join(dir, "missing.cnf"), "Could not open required defaults file")
}
