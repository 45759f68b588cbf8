package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
)

// A run lock on each target stops two applies of the same runbook from
// interleaving their changes on one host (Terraform's state lock, kept
// where the changes happen: on the host). It is a file created with the
// shell's noclobber, which is O_EXCL: exactly one creator wins.

// ErrLocked: another apply holds the host's lock. Distinct so the CLI can
// point at --force-unlock.
var ErrLocked = errors.New("locked by another apply")

// LockPath is where a runbook's lock lives on a host.
func LockPath(runbook string) string { return "/tmp/runbook-" + runbook + ".lock" }

// lockInfo says who holds a lock, for the admin deciding whether it is stale.
func lockInfo(runID string) string {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("owner=%s@%s pid=%d started=%s run=%s", who, host, os.Getpid(), time.Now().UTC().Format(time.RFC3339), runID)
}

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// acquireLock creates the lock or reports who holds it. With force, an
// existing lock (left by a crashed run) is removed first.
func acquireLock(ctx context.Context, tr transport.Transport, runbook, info string, force bool) (release func(), err error) {
	path := LockPath(runbook)
	if force {
		res, err := tr.Run(ctx, transport.Command{Line: "cat " + shq(path) + " 2>/dev/null; rm -f " + shq(path), NoStdin: true, Timeout: 30 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("removing the lock %s: %w", path, err)
		}
		if old := strings.TrimSpace(string(res.Stdout)); old != "" {
			fmt.Fprintf(os.Stderr, "runbook: --force-unlock removed the lock %s (%s)\n", path, old)
		}
	}
	line := "umask 077; set -C; printf '%s\\n' " + shq(info) + " > " + shq(path) + " 2>/dev/null || { cat " + shq(path) + "; exit 75; }"
	res, err := tr.Run(ctx, transport.Command{Line: line, NoStdin: true, Timeout: 30 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("taking the lock %s: %w", path, err)
	}
	if res.ExitCode != 0 {
		holder := strings.TrimSpace(string(res.Stdout))
		if holder == "" {
			holder = strings.TrimSpace(string(res.Stderr))
		}
		return nil, fmt.Errorf("%w: %s holds %s", ErrLocked, holder, path)
	}
	return func() {
		// Remove the lock only if it is still ours.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = tr.Run(rctx, transport.Command{
			Line:    "[ \"$(cat " + shq(path) + " 2>/dev/null)\" = " + shq(info) + " ] && rm -f " + shq(path),
			NoStdin: true, Timeout: 30 * time.Second,
		})
	}, nil
}
