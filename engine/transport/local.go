package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// killGrace is how long a stopped local command gets between SIGTERM and
// SIGKILL. TERM first because a command under sudo runs as root in its own
// session: only sudo can pass the signal on, and sudo cannot relay KILL.
var killGrace = 2 * time.Second

// LocalConfig configures the Local transport.
type LocalConfig struct {
	// BecomePassword is given to sudo -S when a command asks for Become.
	BecomePassword string
	// HideEnv names variables of this process's environment that commands
	// must not inherit: the secrets the run itself was given that way (the
	// variable become_password_env names, sensitive RUNBOOK_VAR_ values).
	// A remote command never sees this environment; a local one would.
	HideEnv []string
}

// Local runs commands on this machine through /bin/sh -c, the same way
// sshd runs them remotely, so a runbook behaves alike on both.
type Local struct {
	cfg LocalConfig
}

var (
	_ Transport     = (*Local)(nil)
	_ FileTransport = (*Local)(nil)
)

// NewLocal returns a Local transport.
func NewLocal(cfg LocalConfig) *Local { return &Local{cfg: cfg} }

// Describe implements Transport.
func (l *Local) Describe() string { return "local" }

// Close implements Transport; there is nothing to release.
func (l *Local) Close() error { return nil }

// Run implements Transport.
func (l *Local) Run(ctx context.Context, cmd Command) (Result, error) {
	return execute(ctx, cmd, runOptions{becomePassword: l.cfg.BecomePassword}, l.start)
}

func (l *Local) start(line string, stdout, stderr io.Writer) (io.WriteCloser, process, error) {
	c := exec.Command("/bin/sh", "-c", line)
	c.Env = l.environ()
	c.Stdout = stdout
	c.Stderr = stderr
	// Own process group so a timeout ends the children too (`sleep &`).
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A background child that keeps stdout open must not hold Wait forever.
	c.WaitDelay = killGrace
	stdin, err := c.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := c.Start(); err != nil {
		stdin.Close()
		return nil, nil, fmt.Errorf("start /bin/sh: %w", err)
	}
	return stdin, &localProc{cmd: c, grace: killGrace}, nil
}

// environ is the environment of a command: this process's, without the
// HideEnv variables. Nil (inherit it all) when there is nothing to hide.
func (l *Local) environ() []string {
	if len(l.cfg.HideEnv) == 0 {
		return nil
	}
	env := os.Environ()
	return slices.DeleteFunc(env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(l.cfg.HideEnv, name)
	})
}

type localProc struct {
	cmd   *exec.Cmd
	grace time.Duration
	once  sync.Once
}

func (p *localProc) Wait() (int, error) {
	err := p.cmd.Wait()
	st := p.cmd.ProcessState
	if st == nil {
		return -1, err
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return -1, err
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		// Same convention as a shell and as x/crypto/ssh for exit-signal.
		return 128 + int(ws.Signal()), nil
	}
	return st.ExitCode(), nil
}

// Stop sends TERM to the whole group, then KILL after killGrace. The KILL
// goes out even when the shell already exited: a background child that
// ignores TERM is still in the group.
func (p *localProc) Stop() {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		time.AfterFunc(p.grace, func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
	})
}

// ReadFile implements FileTransport.
func (l *Local) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotExist)
	}
	return b, err
}

// WriteFile implements FileTransport: a temp file in the same directory
// (rename is only atomic within one file system), synced, then renamed.
func (l *Local) WriteFile(ctx context.Context, path string, content []byte, mode uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".runbook-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(content); err != nil {
		return err
	}
	// Chmod on the open file: CreateTemp made it 0600 and umask must not
	// decide the final mode.
	if err := f.Chmod(fs.FileMode(mode) & fs.ModePerm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}
