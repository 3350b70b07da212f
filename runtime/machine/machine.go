// Package machine starts and stops database servers and reaches their
// files: a mariadbd process of our own (Process), a systemd service
// (Systemd), on this machine (Local) or on another one through the
// system's ssh client (SSH), so that the operator's ssh config, agent and
// known_hosts apply. A deployment file describes a machine with a Spec.
//
// The Python Replicant printed "Permission denied" and carried on. Here
// every operation fails loudly: each command is bounded by its context (or
// a default timeout when the context has none), its standard error is part
// of the error, and the error names the machine and the operation:
//
//	ssh ops@10.0.0.1 (systemd mariadb): start: systemctl --no-ask-password start mariadb: exit status 1: Job for mariadb.service failed ...
package machine

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// Host runs commands and reaches files on one computer. Its errors name
// the command or the file but not the host: a Machine wraps them with its
// own name and the operation.
type Host interface {
	// Run runs argv (argv[0] looked up in PATH) and returns its standard
	// output. A command that fails is a *CommandError carrying its
	// standard error.
	Run(ctx context.Context, argv []string) ([]byte, error)
	// ReadFile returns the content of path; a missing file is an error
	// that matches fs.ErrNotExist.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// WriteFile replaces path atomically (a temporary file in the same
	// directory, then a rename), so that a reader sees the old content or
	// the new one, never half of it. The owner of a file it replaces is
	// kept when the caller may set it.
	WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error
	// RunStream runs argv with stdin as its standard input (nil: empty)
	// and copies its standard output to stdout as it comes (nil:
	// discarded), for data too big to hold in memory: a datadir on its
	// way to or from a remote host. It is bounded by ctx alone (no
	// default timeout: a stream lasts as long as its data). A command
	// that fails is a *CommandError carrying the end of its standard
	// error. A stdin that returns an error ends the command's input, a
	// stdout that fails closes its output, and RunStream returns that
	// failure rather than what the command made of it. It returns once
	// the command has exited and its output is all written, or as soon
	// as ctx ends: then a Read of stdin or a Write to stdout may still be
	// under way, and the caller unblocks it (closing the pipe it reads,
	// say).
	RunStream(ctx context.Context, argv []string, stdin io.Reader, stdout io.Writer) error
	String() string
}

// IsLocal reports whether h reaches this computer: the Local host, or a
// machine built on it. Any other Host (ssh, or one this package does not
// know) is reached through its methods only.
func IsLocal(h Host) bool {
	switch x := h.(type) {
	case localHost:
		return true
	case *Process:
		return IsLocal(x.host)
	case *Systemd:
		return IsLocal(x.host)
	}
	return false
}

// Machine is where a database server runs and how it is started and
// stopped.
type Machine interface {
	Host
	// Start starts the server and returns once it is ready (see Ready).
	// A server already running is not an error.
	Start(ctx context.Context) error
	// Stop stops the server and returns once its process is gone. A
	// server already stopped is not an error.
	Stop(ctx context.Context) error
	// Restart stops the server, then starts it.
	Restart(ctx context.Context) error
	// Running reports whether the server's process is up.
	Running(ctx context.Context) (bool, error)
}

// Killer is a Machine that can stop its server at once, without a clean
// shutdown: the fence of a hung primary, which must not be woken up to
// shut down by itself (awake, it may still commit what its clients sent).
// Kill returns once the server's processes are gone; a server already
// stopped is not an error.
type Killer interface {
	Machine
	Kill(ctx context.Context) error
}

// Ready tells whether a started server accepts work, typically by
// connecting and pinging it. Start calls it repeatedly until it returns
// nil or the context of Start ends; each call gets a context bounded by
// ReadyAttemptTimeout. The machine package cannot connect to a server
// itself (runtime/server depends on nothing here), so callers pass one.
type Ready func(ctx context.Context) error

// ErrKilled is wrapped by the error of a Stop (or Restart) whose server
// did not exit within its grace period after SIGTERM and was sent
// SIGKILL. The server is stopped, but it will run crash recovery on its
// next start, and the operator should learn why it hung.
var ErrKilled = errors.New("killed with SIGKILL (it will run crash recovery at its next start)")

// Defaults that apply when neither the context nor the options set a
// bound.
const (
	// DefaultCommandTimeout bounds one command (Run, ReadFile, WriteFile).
	DefaultCommandTimeout = time.Minute
	// DefaultStartTimeout bounds a start: InnoDB crash recovery of a busy
	// server takes minutes, a clean start of a small one under a second.
	DefaultStartTimeout = 2 * time.Minute
	// DefaultStopGrace is how long a server gets to shut down after
	// SIGTERM before SIGKILL (or how long systemctl stop may take).
	DefaultStopGrace = time.Minute
	// DefaultConnectTimeout is ssh's ConnectTimeout.
	DefaultConnectTimeout = 10 * time.Second
	// ReadyAttemptTimeout bounds one call of a Ready func, so that one
	// connection attempt that hangs does not use up the whole start.
	ReadyAttemptTimeout = 5 * time.Second
)

// killGrace is how long the kernel gets to remove a process after SIGKILL.
const killGrace = 10 * time.Second

// withDefaultTimeout bounds ctx by d unless it already has a deadline: a
// context without one must not let a command hang forever.
func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// cleanupContext is for work that must happen even though ctx has ended:
// stopping a server that failed to start, reading its log for the error.
func cleanupContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
