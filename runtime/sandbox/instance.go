package sandbox

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	gosql "github.com/go-sql-driver/mysql"
)

// maxSocketPath is what fits in sockaddr_un.sun_path (108 bytes with the
// terminating NUL); mariadbd refuses a longer --socket.
const maxSocketPath = 107

// layout fills in the instances' names, paths, ids and roles. Ports stay 0
// when they are to be picked at start.
func layout(s *Sandbox, o Options) error {
	sockDir := ""
	if len(filepath.Join(s.Dir, fmt.Sprintf("db%d", o.Servers), "mysqld.sock")) > maxSocketPath {
		// t.TempDir() under a long test name easily exceeds the limit.
		d, err := os.MkdirTemp("", "rl-sock-")
		if err != nil {
			return err
		}
		sockDir, s.SocketDir = d, d
	}
	for i := 1; i <= o.Servers; i++ {
		name := fmt.Sprintf("db%d", i)
		idir := filepath.Join(s.Dir, name)
		in := Instance{
			Name:         name,
			Socket:       filepath.Join(idir, "mysqld.sock"),
			DataDir:      filepath.Join(idir, "data"),
			TmpDir:       filepath.Join(idir, "tmp"),
			DefaultsFile: filepath.Join(idir, "my.cnf"),
			ErrorLog:     filepath.Join(idir, "error.log"),
			ServerID:     i,
			Role:         RoleReplica,
			Binary:       s.Binary,
		}
		if sockDir != "" {
			in.Socket = filepath.Join(sockDir, name+".sock")
		}
		if len(in.Socket) > maxSocketPath {
			return fmt.Errorf("sandbox: socket path %s is longer than %d characters; set TMPDIR to a shorter directory", in.Socket, maxSocketPath)
		}
		if i == 1 {
			in.Role = RolePrimary
		}
		if o.BasePort != 0 {
			in.Port = o.BasePort + i - 1
		}
		s.Instances = append(s.Instances, in)
	}
	return nil
}

// optionFile is the instance's my.cnf. It is all the server reads
// (--defaults-file), so /etc/mysql/my.cnf cannot leak into a sandbox.
func optionFile(in Instance, primary string) string {
	var b strings.Builder
	started := "the primary"
	if in.Role == RoleReplica {
		started = "a replica of " + primary
	}
	fmt.Fprintf(&b, "# Written by replicant-lua sandbox up for %s, started as %s.\n", in.Name, started)
	fmt.Fprintf(&b, "# Run as: %s --defaults-file=%s\n", in.Binary, in.DefaultsFile)
	b.WriteString("[mysqld]\n")
	kv := func(k, v string) { fmt.Fprintf(&b, "%-24s = %s\n", k, v) }
	if os.Geteuid() == 0 {
		kv("user", "root") // mariadbd refuses to run as root without it
	}
	kv("datadir", in.DataDir)
	kv("tmpdir", in.TmpDir) // shared tmpdirs make parallel servers collide
	kv("socket", in.Socket)
	kv("port", strconv.Itoa(in.Port))
	kv("bind-address", "127.0.0.1")
	kv("pid-file", filepath.Join(filepath.Dir(in.DefaultsFile), "mysqld.pid"))
	kv("log-error", in.ErrorLog)
	kv("server-id", strconv.Itoa(in.ServerID))
	kv("log-bin", "mysql-bin")
	kv("relay-log", "relay-bin")
	b.WriteString("log-slave-updates\n") // every replica can become a primary
	kv("binlog-format", "ROW")
	kv("gtid-strict-mode", "1")
	kv("report-host", "127.0.0.1") // SHOW SLAVE HOSTS on the primary lists us
	kv("report-port", strconv.Itoa(in.Port))
	b.WriteString("skip-name-resolve\n")
	kv("performance-schema", "OFF") // ≈90 MiB RSS per server instead of ≈400
	kv("innodb-buffer-pool-size", "16M")
	kv("innodb-log-file-size", "8M")
	if in.Role == RoleReplica {
		// A replica that restarts stays read-only until promoted.
		kv("read-only", "1")
	}
	return b.String()
}

// launch starts one instance and waits until it answers. With automatic
// ports a clash (another process took the port between our probe and the
// server's bind) is retried on a new port. started is told every pid as
// soon as the process exists.
func launch(ctx context.Context, in Instance, primary string, o Options, started func(Instance)) (<-chan struct{}, error) {
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			os.Remove(in.ErrorLog) // so that portClash judges this attempt only
		}
		if o.BasePort == 0 {
			p, err := freePort()
			if err != nil {
				return nil, err
			}
			in.Port = p
		}
		if err := os.WriteFile(in.DefaultsFile, []byte(optionFile(in, primary)), 0o644); err != nil {
			return nil, err
		}
		pid, exited, err := startProcess(in, o.Detach)
		if err != nil {
			return nil, err
		}
		in.Pid = pid
		started(in)
		err = waitReady(ctx, in, exited, o.Timeout)
		if err == nil {
			return exited, nil
		}
		if o.BasePort == 0 && attempt < 3 && isClosed(exited) && portClash(in) {
			continue
		}
		return exited, err
	}
}

// startProcess runs the server with the instance's option file. Its stdout
// and stderr go to console.log next to it (the error log only exists once
// the options are read), never to our terminal. A goroutine reaps it, so a
// server that dies does not stay a zombie of ours.
func startProcess(in Instance, detach bool) (int, <-chan struct{}, error) {
	idir := filepath.Dir(in.DefaultsFile)
	console, err := os.OpenFile(filepath.Join(idir, "console.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, nil, err
	}
	defer console.Close()
	cmd := exec.Command(in.Binary, "--defaults-file="+in.DefaultsFile)
	cmd.Dir = idir
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: detach}
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("%s: start %s: %w", in, in.Binary, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return cmd.Process.Pid, exited, nil
}

// waitReady pings the server over its socket until it answers, it exits,
// or timeout passes.
func waitReady(ctx context.Context, in Instance, exited <-chan struct{}, timeout time.Duration) error {
	db := rootDB(in)
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		err := db.PingContext(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s: server exited while starting; last lines of %s:\n%s", in, in.ErrorLog, logTail(in))
		case <-ctx.Done():
			return fmt.Errorf("%s: not answering after %s (%v); last lines of %s:\n%s", in, timeout, err, in.ErrorLog, logTail(in))
		case <-tick.C:
		}
	}
}

// rootDB connects as root over the unix socket: the only root account the
// sandbox keeps, reachable only through the instance's 0700 directory.
func rootDB(in Instance) *sql.DB {
	cfg := gosql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "unix", in.Socket
	cfg.Timeout = 2 * time.Second
	connector, err := gosql.NewConnector(cfg)
	if err != nil {
		// NewConnector only fails on a malformed config, which ours is not.
		panic(err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(2)
	return db
}

// logTail is the end of the instance's error log, or of its console when
// the server died before opening the log.
func logTail(in Instance) string {
	for _, p := range []string{in.ErrorLog, filepath.Join(filepath.Dir(in.DefaultsFile), "console.log")} {
		if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return lastLines(string(b), 8)
		}
	}
	return "(empty)"
}

func portClash(in Instance) bool {
	b, _ := os.ReadFile(in.ErrorLog)
	return strings.Contains(string(b), "Address already in use")
}

// freePort asks the kernel for a free port on 127.0.0.1. Someone may take
// it before the server binds it; launch retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("sandbox: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkPortFree fails early, with a clear message, when a fixed port is taken.
func checkPortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("sandbox: port %d on 127.0.0.1 is not free: %w", port, err)
	}
	return l.Close()
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
