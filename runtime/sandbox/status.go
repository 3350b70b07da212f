package sandbox

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/replicant-lua/replicant-lua/runtime/server"
)

// InstanceStatus is what Status found out about one server.
type InstanceStatus struct {
	Name string
	Port int
	Pid  int // the running server's; 0 when none runs
	// Running: the pid file names a live server of this instance's option
	// file.
	Running bool
	// Answering: it accepted the tool's account over TCP and answered.
	Answering bool
	// Role is what the server says when it answers (replica when SHOW
	// SLAVE STATUS has a row); "" when it does not answer: the role it
	// was given may no longer be its part.
	Role       Role
	ReadOnly   bool
	IORunning  bool   // replicas: Slave_IO_Running = Yes
	SQLRunning bool   // replicas: Slave_SQL_Running = Yes
	IOState    string // replicas: Slave_IO_Running as the server says it (Yes, No, Connecting)
	SQLState   string // replicas: Slave_SQL_Running as the server says it
	SourcePort int    // replicas: Master_Port
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
			out[i] = s.instanceStatus(ctx, in, pw)
		}()
	}
	wg.Wait()
	return out, nil
}

func (s *Sandbox) instanceStatus(ctx context.Context, in Instance, pw string) InstanceStatus {
	st := InstanceStatus{Name: in.Name, Port: in.Port}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pid, perr := s.pid(ctx, in)
	if pid != 0 {
		// The live pid: a server restarted through its machine has a new one.
		st.Pid, st.Running = pid, true
	}
	st.Err = s.queryStatus(ctx, in, pw, &st)
	if perr != nil {
		st.Err = errors.Join(perr, st.Err)
	}
	return st
}

// queryStatus fills in what the server says of itself, through the
// server package like any playbook.
func (s *Sandbox) queryStatus(ctx context.Context, in Instance, pw string, st *InstanceStatus) error {
	cfg := s.serverConfig(in, pw)
	cfg.ConnectTimeout = 2 * time.Second
	db, err := server.New(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	ro, err := db.Variable(ctx, "read_only")
	if err != nil {
		return err
	}
	st.ReadOnly = ro == int64(1)
	rs, err := db.ReplicaStatus(ctx)
	if err != nil {
		return err
	}
	st.Answering = true
	st.Role = RolePrimary
	if rs != nil {
		st.Role = RoleReplica
		st.IORunning, st.SQLRunning, st.SourcePort = rs.IORunning, rs.SQLRunning, rs.SourcePort
		st.IOState, st.SQLState = rs.IOThread, rs.SQLThread
	}
	return nil
}
