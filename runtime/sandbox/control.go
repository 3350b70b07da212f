package sandbox

import (
	"context"
	"fmt"
	"strings"
)

// Actions of Control.
const (
	ActionStart   = "start"
	ActionStop    = "stop"
	ActionRestart = "restart"
)

// Control starts, stops or restarts one server of the sandbox in dir
// through its machine, as a playbook's db:start() would, and records its
// pid (0 once stopped) in sandbox.json. Starting a running server or
// stopping a stopped one is not an error. It returns the instance as
// recorded afterwards.
func Control(ctx context.Context, dir, name, action string) (Instance, error) {
	s, err := Load(dir)
	if err != nil {
		return Instance{}, err
	}
	i := -1
	for j, in := range s.Instances {
		if in.Name == name {
			i = j
		}
	}
	if i < 0 {
		names := make([]string, len(s.Instances))
		for j, in := range s.Instances {
			names[j] = in.Name
		}
		return Instance{}, fmt.Errorf("sandbox %s: no server %q (it has %s)", s.Dir, name, strings.Join(names, ", "))
	}
	in := s.Instances[i]
	m, err := s.machine(name)
	if err != nil {
		return in, err
	}
	switch action {
	case ActionStart:
		err = m.Start(ctx)
	case ActionStop:
		err = retryVanished(func() error { return m.Stop(ctx) })
	case ActionRestart:
		err = m.Restart(ctx)
	default:
		return in, fmt.Errorf("sandbox: %q: want start, stop or restart", action)
	}
	if err != nil {
		return in, fmt.Errorf("sandbox %s: %s: %w", action, in, err)
	}
	if s.Instances[i].Pid, err = s.pid(ctx, in); err != nil {
		return s.Instances[i], err
	}
	return s.Instances[i], s.save()
}
