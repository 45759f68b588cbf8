// Package transport runs shell commands on one target host. The engine
// talks to every host through the Transport interface; it never knows
// whether the command ran locally or over SSH.
package transport

import (
	"context"
	"errors"
	"io"
	"time"
)

// Transport runs commands on one host. Implementations must be safe for
// concurrent use by one goroutine per step (the engine runs steps of one
// host in order, but a cancel may race with a running command).
type Transport interface {
	// Run executes cmd and waits for it to finish. A command that ran and
	// exited non-zero is a Result with ExitCode != 0 and a nil error: a
	// failed remote command is an outcome, not a transport failure.
	// The error is non-nil only when the command could not be run or
	// completed: connection lost, timeout, output cap, sudo refused.
	Run(ctx context.Context, cmd Command) (Result, error)
	// Describe says how this host is reached ("local", "ssh koopark@127.0.0.1:2222").
	Describe() string
	Close() error
}

// FileTransport is implemented by transports that can place files (SFTP
// for SSH, plain writes locally). Kept separate so Transport stays small.
type FileTransport interface {
	// ReadFile returns the file's content, or ErrNotExist.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// WriteFile writes content atomically (temp + rename) with mode.
	WriteFile(ctx context.Context, path string, content []byte, mode uint32) error
}

// Command is one command: either Argv (each argument shell-quoted by the
// transport) or Line, a shell command line handed to `/bin/sh -c`.
// Argv matters for Become: `sudo -n -- sacctmgr ...` works under a sudoers
// rule that allows only /usr/bin/sacctmgr, where `sudo sh -c ...` would not.
type Command struct {
	Argv []string
	Line string
	// Stdin feeds the command. When nil the command gets a stdin that stays
	// open and never delivers data until the command ends: a closed stdin
	// makes `sacctmgr` (without -i) spin forever printing "Y or N please".
	Stdin io.Reader
	// NoStdin gives the command an empty, already-closed stdin; only for
	// commands known to need it.
	NoStdin bool
	Env     map[string]string
	// Become runs the command as BecomeUser (root when empty) through sudo.
	Become     bool
	BecomeUser string
	// Timeout ends the command (and the remote process) after this long;
	// zero means DefaultTimeout, NoTimeout none (the caller ends it).
	Timeout time.Duration
	// Stdout, when set, also receives stdout as it arrives, for a caller
	// that must act on a command's first words while it still runs.
	Stdout io.Writer
	// OutputCap bounds each of stdout and stderr; past it the command is
	// ended and ErrOutputCap returned. Zero means DefaultOutputCap.
	OutputCap int64
	// Proves, when > 0, is the checklist line of the step (1-based, in the
	// order the runbook lists them) that this command's evidence backs, so
	// a step with several lines shows under each only what proves it.
	// Transports ignore it; the evidence recorder keeps it.
	Proves int
}

// Result is what a finished command produced.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	Started  time.Time
	Ended    time.Time
}

// NoTimeout is for a command that holds something (the run lock) for as
// long as its caller needs and ends when its stdin is closed.
const NoTimeout time.Duration = -1

const (
	DefaultTimeout   = 10 * time.Minute
	DefaultOutputCap = 16 << 20
)

var (
	// ErrTimeout: the command outlived its timeout and was ended; the
	// partial Result is returned with it.
	ErrTimeout = errors.New("command timed out")
	// ErrOutputCap: a stream passed its cap (a runaway like the sacctmgr
	// prompt loop); the command was ended so it cannot fill memory or disk.
	ErrOutputCap = errors.New("command output exceeded the cap")
	// ErrConnectionLost: the connection to the host broke while the command
	// ran; whether the command completed on the host is unknown.
	ErrConnectionLost = errors.New("connection lost")
	// ErrBecome: sudo refused (wrong or missing password, command not
	// allowed). Distinct from a failing command so the user gets a hint.
	ErrBecome = errors.New("privilege escalation (sudo) failed")
	// ErrNotExist: ReadFile found no file at the path.
	ErrNotExist = errors.New("file does not exist")
)
