package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/transport"
)

// A run lock on each target stops two applies of the same runbook from
// interleaving their changes on one host (Terraform's state lock, kept
// where the changes happen: on the host). It is a file created with the
// shell's noclobber, which is O_EXCL: exactly one creator wins.
//
// It lives where no other user can write, or another local user could
// block every apply by creating the file first, or defeat noclobber with
// a symlink to /dev/null in its place (the shell's noclobber opens an
// existing file that is not a regular one). Taken as root (logged in as
// root, or through sudo when the runbook uses become) it is in
// /run/runbook, so every admin's apply of the runbook meets the same lock;
// otherwise in a directory of the user's own under their home, named for
// the host because a home is often shared by a whole cluster over NFS.
// The command checks the directory is its user's and nobody else's, and
// that the lock is a regular file, before it trusts either.
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

// rootLockDir holds the locks taken as root. Its parent /run is root's
// alone; /var/lock (/run/lock) is not: it is world-writable, so another
// user could make /var/lock/runbook theirs before root first needs it.
// A variable only so that tests can break a directory of their own.
var rootLockDir = "/run/runbook"

// userLockDir is, relative to a user's home, where their own locks live
// on the host named by `uname -n`.
const userLockDir = ".runbook/locks"

// LockPath is where the lock of runbook is taken on the host hostname
// (its `uname -n`) by the user u.
func LockPath(runbook, hostname string, u *user.User) string {
	dir := rootLockDir
	if u.Uid != "0" {
		dir = path.Join(u.HomeDir, userLockDir, hostname)
	}
	return path.Join(dir, runbook+".lock")
}

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

// lockScript first prints "path PATH", where the lock is. Then it prints
// "removed INFO" for a lock it took over (force), then "locked" and holds,
// or "held INFO" when another apply has it. Whatever it cannot trust (a
// directory that is not its user's alone, a lock that is not a regular
// file of its user) or cannot do (remove the old lock) ends it with exit
// code 1 and the reason on stderr.
func lockScript(runbook, info string, force bool) string {
	i := transport.ShellQuote(info)
	var b strings.Builder
	b.WriteString("umask 077; set -C; u=$(id -u) || exit 1; ")
	b.WriteString("if [ \"$u\" = 0 ]; then d=" + transport.ShellQuote(rootLockDir) + "; m=755; " +
		"else [ -n \"$HOME\" ] || { echo 'no home directory for the lock' >&2; exit 1; }; " +
		"d=\"$HOME/" + userLockDir + "/$(uname -n)\"; m=700; fi; ")
	// ls -n (not stat -c) names the owner on any POSIX host; -d does not
	// follow a symlink, which is refused anyway.
	b.WriteString("mkdir -p -m \"$m\" \"$d\" 2>/dev/null; " +
		"if [ -L \"$d\" ] || [ ! -d \"$d\" ]; then echo \"cannot use the lock directory $d: not a directory (a symlink is refused)\" >&2; exit 1; fi; " +
		"o=$(ls -dn \"$d\" | awk '{print $3}'); " +
		"if [ \"$o\" != \"$u\" ]; then echo \"refusing the lock directory $d: owned by uid $o, not $u (remove it)\" >&2; exit 1; fi; " +
		"chmod \"$m\" \"$d\" || exit 1; ")
	b.WriteString("f=\"$d/" + runbook + ".lock\"; echo \"path $f\"; ")
	// mine: the lock is a regular file of this user, not a link to one.
	b.WriteString("mine() { [ -f \"$f\" ] && [ ! -L \"$f\" ] && [ \"$(ls -dn \"$f\" | awk '{print $3}')\" = \"$u\" ]; }; ")
	if force {
		b.WriteString("if [ -e \"$f\" ] || [ -L \"$f\" ]; then h=$(cat \"$f\" 2>/dev/null); " +
			"if rm -f \"$f\" && [ ! -e \"$f\" ] && [ ! -L \"$f\" ]; then printf 'removed %s\\n' \"$h\"; " +
			"else echo \"--force-unlock could not remove $f\" >&2; exit 1; fi; fi; ")
	}
	b.WriteString("if [ -e \"$f\" ] || [ -L \"$f\" ]; then " +
		"mine || { echo \"refusing the lock $f: not a regular file of uid $u (remove it, or apply with --force-unlock)\" >&2; exit 1; }; " +
		"printf 'held %s\\n' \"$(cat \"$f\")\"; exit 75; fi; ")
	b.WriteString("if printf '%s\\n' " + i + " > \"$f\" 2>/dev/null && mine; then echo locked; cat >/dev/null; " +
		"[ \"$(cat \"$f\" 2>/dev/null)\" = " + i + " ] && rm -f \"$f\"; exit 0; fi; ")
	b.WriteString("if mine; then printf 'held %s\\n' \"$(cat \"$f\")\"; exit 75; fi; ")
	b.WriteString("echo \"cannot create the lock $f\" >&2; exit 1")
	return b.String()
}

// acquireLock takes the lock of cfg's runbook or reports who holds it.
// With force, an existing lock (left by a crashed host) is removed first.
// release ends the holding command, which removes the lock. A runbook
// that uses become locks as root, unless sudo will not run the lock
// command for this user (a sudoers rule for one program, no password
// given): then, like a runbook without become, it takes the user's own.
func acquireLock(ctx context.Context, tr transport.Transport, cfg *config.Config, info string, force bool) (release func(), err error) {
	if usesBecome(cfg) {
		release, err := takeLock(ctx, tr, cfg.Runbook.Name, info, force, true)
		var refused *transport.BecomeError
		if !errors.As(err, &refused) || refused.Reason == transport.BecomeWrongPassword {
			return release, err
		}
	}
	return takeLock(ctx, tr, cfg.Runbook.Name, info, force, false)
}

// usesBecome: a step of the runbook has become set, to anything but a
// literal false.
func usesBecome(cfg *config.Config) bool {
	for _, st := range cfg.Steps {
		if st.Become == nil {
			continue
		}
		if v, diags := st.Become.Value(nil); !diags.HasErrors() && v.Type() == cty.Bool && v.IsKnown() && !v.IsNull() && v.False() {
			continue
		}
		return true
	}
	return false
}

// takeLock runs the lock command, through sudo with become.
func takeLock(ctx context.Context, tr transport.Transport, runbook, info string, force, become bool) (release func(), err error) {
	where := "on the host"
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
			Line: lockScript(runbook, info, force), Stdin: stdin, Stdout: lines, Timeout: transport.NoTimeout, Become: become,
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
			case strings.HasPrefix(l, "path "):
				where = strings.TrimPrefix(l, "path ")
			case l == "locked":
				return release, nil
			case strings.HasPrefix(l, "removed "):
				fmt.Fprintf(os.Stderr, "runbook: --force-unlock removed the lock %s (%s)\n", where, strings.TrimPrefix(l, "removed "))
			case strings.HasPrefix(l, "held "):
				release()
				return nil, &LockedError{Holder: strings.TrimPrefix(l, "held "), Path: where}
			}
		case e := <-done:
			// The command may end before its lines were read from the watch.
			for _, l := range strings.Split(string(e.res.Stdout), "\n") {
				if strings.HasPrefix(l, "path ") {
					where = strings.TrimPrefix(l, "path ")
				}
				if strings.HasPrefix(l, "held ") {
					return nil, &LockedError{Holder: strings.TrimPrefix(l, "held "), Path: where}
				}
			}
			if e.err != nil {
				return nil, fmt.Errorf("taking the lock %s: %w", where, e.err)
			}
			msg := strings.TrimSpace(string(e.res.Stderr))
			return nil, fmt.Errorf("taking the lock %s: exit code %d: %s", where, e.res.ExitCode, msg)
		case <-wait.C:
			release()
			return nil, fmt.Errorf("taking the lock %s: no answer in %v: %w", where, lockWait, transport.ErrTimeout)
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
