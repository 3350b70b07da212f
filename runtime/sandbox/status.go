package sandbox

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"time"

	gosql "github.com/go-sql-driver/mysql"
)

// InstanceStatus is what Status found out about one server.
type InstanceStatus struct {
	Name string
	Port int
	Pid  int // as recorded; 0 after Down
	// Running: the pid is alive and still this instance's server.
	Running bool
	// Answering: it accepted the tool's account over TCP and answered.
	Answering bool
	// Role is what the server says when it answers (replica when SHOW
	// SLAVE STATUS has a row), else what the sandbox recorded.
	Role       Role
	ReadOnly   bool
	IORunning  bool // replicas: Slave_IO_Running = Yes
	SQLRunning bool // replicas: Slave_SQL_Running = Yes
	SourcePort int  // replicas: Master_Port
	Err        error
}

// Replicating is true for a replica with both threads running.
func (st InstanceStatus) Replicating() bool {
	return st.Role == RoleReplica && st.IORunning && st.SQLRunning
}

// Status asks every server of the sandbox in dir, in parallel, as the
// tool's own account over TCP (the path a playbook uses).
func Status(ctx context.Context, dir string) ([]InstanceStatus, error) {
	s, err := Load(dir)
	if err != nil {
		return nil, err
	}
	pw, err := s.User.Password()
	if err != nil {
		return nil, err
	}
	out := make([]InstanceStatus, len(s.Instances))
	var wg sync.WaitGroup
	for i, in := range s.Instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = instanceStatus(ctx, in, s.User.Name, pw)
		}()
	}
	wg.Wait()
	return out, nil
}

func instanceStatus(ctx context.Context, in Instance, user, pw string) InstanceStatus {
	st := InstanceStatus{Name: in.Name, Port: in.Port, Pid: in.Pid, Role: in.Role, Running: serverOf(in.Pid, in)}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cfg := in.tcpConfig(user, pw)
	cfg.Timeout = 2 * time.Second
	connector, err := gosql.NewConnector(cfg)
	if err != nil {
		st.Err = err
		return st
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.read_only").Scan(&st.ReadOnly); err != nil {
		st.Err = fmt.Errorf("%s: read read_only: %w", in, err)
		return st
	}
	rs, err := queryMap(ctx, db, "SHOW SLAVE STATUS")
	if err != nil {
		st.Err = fmt.Errorf("%s: show slave status: %w", in, err)
		return st
	}
	st.Answering = true
	st.Role = RolePrimary
	if rs != nil {
		st.Role = RoleReplica
		st.IORunning = rs["Slave_IO_Running"] == "Yes"
		st.SQLRunning = rs["Slave_SQL_Running"] == "Yes"
		st.SourcePort, _ = strconv.Atoi(rs["Master_Port"])
	}
	return st
}
