package machine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// readyInterval is the pause between two Ready attempts. A small MariaDB
// answers ≈0.5 s after it was started.
const readyInterval = 100 * time.Millisecond

// errExited says the server's process ended while we waited for it.
var errExited = errors.New("exited while starting")

// pollReady calls ready until it returns nil, ctx ends, or alive (when
// given) says the process is gone: a server that died must not be waited
// for until the deadline.
func pollReady(ctx context.Context, ready Ready, alive func(context.Context) (bool, error)) error {
	for {
		actx, cancel := context.WithTimeout(ctx, ReadyAttemptTimeout)
		err := ready(actx)
		cancel()
		if err == nil {
			return nil
		}
		if alive != nil {
			up, aerr := alive(ctx)
			if aerr != nil && ctx.Err() == nil {
				return fmt.Errorf("not ready (%v), and checking its process failed: %w", err, aerr)
			}
			if aerr == nil && !up {
				return errExited
			}
		}
		if serr := sleep(ctx, readyInterval); serr != nil {
			return fmt.Errorf("not ready: %w (last attempt: %v)", serr, err)
		}
	}
}
