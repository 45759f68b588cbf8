package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// A run lock on each target stops two applies of the same runbook from
// interleaving their changes on one host (Terraform's state lock, kept
// where the changes happen: on the host). It is a file created with the
// shell's noclobber, which is O_EXCL: exactly one creator wins.
//
// One command takes, holds and releases it: after creating the file it
// waits for its stdin to end, then removes the file if it is still ours.
// runbook closes that stdin when the apply ends; if runbook dies or its
// connection drops, sshd closes it instead, so a crash leaves no stale
// lock unless the host itself went down (then --force-unlock). One
// session instead of a take and a release also keeps a short apply cheap.

// ErrLocked: another apply holds the host's lock. Distinct so the CLI can
// point at --force-unlock.
var ErrLocked = errors.New("locked by another apply")

// LockedError says who holds the lock (the line lockInfo wrote) and where.
type LockedError struct{ Holder, Path string }

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v: %s holds %s", ErrLocked, e.Holder, e.Path)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// LockPath is where a runbook's lock lives on a host.
func LockPath(runbook string) string { return "/tmp/runbook-" + runbook + ".lock" }

// lockWait bounds how long taking (and releasing) the lock may take.
var lockWait = 30 * time.Second

// lockInfo says who holds a lock, for the admin deciding whether it is stale.
func lockInfo(runID string) string {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("owner=%s@%s pid=%d started=%s run=%s", who, host, os.Getpid(), time.Now().UTC().Format(time.RFC3339), runID)
}

// lockScript prints "removed INFO" for a lock it took over (force), then
// "locked" and holds, or "held INFO" when another apply has it.
func lockScript(path, info string, force bool) string {
	p, i := transport.ShellQuote(path), transport.ShellQuote(info)
	var b strings.Builder
	b.WriteString("umask 077; set -C; ")
	if force {
		b.WriteString("if [ -e " + p + " ]; then printf 'removed %s\\n' \"$(cat " + p + " 2>/dev/null)\"; rm -f " + p + "; fi; ")
	}
	b.WriteString("if printf '%s\\n' " + i + " > " + p + " 2>/dev/null; then echo locked; cat >/dev/null; " +
		"[ \"$(cat " + p + " 2>/dev/null)\" = " + i + " ] && rm -f " + p + "; exit 0; fi; ")
	b.WriteString("if [ -e " + p + " ]; then printf 'held %s\\n' \"$(cat " + p + " 2>/dev/null)\"; exit 75; fi; ")
	b.WriteString("echo 'cannot create '" + p + " >&2; exit 1")
	return b.String()
}

// acquireLock takes the lock or reports who holds it. With force, an
// existing lock (left by a crashed host) is removed first. release ends
// the holding command, which removes the lock.
func acquireLock(ctx context.Context, tr transport.Transport, runbook, info string, force bool) (release func(), err error) {
	path := LockPath(runbook)
	stdin := &heldStdin{released: make(chan struct{})}
	lines := &lineWatch{lines: make(chan string, 4)}
	type ended struct {
		res transport.Result
		err error
	}
	done := make(chan ended, 1)
	go func() {
		// Not canceled with ctx: an interrupted apply must still get to
		// remove its lock, which closing stdin (release) does.
		res, err := tr.Run(context.WithoutCancel(ctx), transport.Command{
			Line: lockScript(path, info, force), Stdin: stdin, Stdout: lines, Timeout: transport.NoTimeout,
		})
		done <- ended{res, err}
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(stdin.released)
			select {
			case <-done:
			case <-time.After(lockWait):
			}
		})
	}
	wait := time.NewTimer(lockWait)
	defer wait.Stop()
	for {
		select {
		case l := <-lines.lines:
			switch {
			case l == "locked":
				return release, nil
			case strings.HasPrefix(l, "removed "):
				fmt.Fprintf(os.Stderr, "runbook: --force-unlock removed the lock %s (%s)\n", path, strings.TrimPrefix(l, "removed "))
			case strings.HasPrefix(l, "held "):
				release()
				return nil, &LockedError{Holder: strings.TrimPrefix(l, "held "), Path: path}
			}
		case e := <-done:
			// The command may end before its lines were read from the watch.
			for _, l := range strings.Split(string(e.res.Stdout), "\n") {
				if strings.HasPrefix(l, "held ") {
					return nil, &LockedError{Holder: strings.TrimPrefix(l, "held "), Path: path}
				}
			}
			if e.err != nil {
				return nil, fmt.Errorf("taking the lock %s: %w", path, e.err)
			}
			msg := strings.TrimSpace(string(e.res.Stderr))
			return nil, fmt.Errorf("taking the lock %s: exit code %d: %s", path, e.res.ExitCode, msg)
		case <-wait.C:
			release()
			return nil, fmt.Errorf("taking the lock %s: no answer in %v: %w", path, lockWait, transport.ErrTimeout)
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
}

// heldStdin is the lock command's stdin: no data, and its end when the
// lock is released. WriteTo lets the transport's copy wait on it without
// a copy buffer per host.
type heldStdin struct{ released chan struct{} }

func (h *heldStdin) Read([]byte) (int, error) {
	<-h.released
	return 0, io.EOF
}

func (h *heldStdin) WriteTo(io.Writer) (int64, error) {
	<-h.released
	return 0, nil
}

// lineWatch passes each complete stdout line of the lock command on.
type lineWatch struct {
	mu    sync.Mutex
	buf   []byte
	lines chan string
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		select {
		case w.lines <- string(w.buf[:i]):
		default: // nobody listens any more; the lines that matter came first
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
