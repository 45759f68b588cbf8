package engine

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/transport"
)

func TestLockIsExclusiveAndForceable(t *testing.T) {
	ctx := context.Background()
	tr := transport.NewLocal(transport.LocalConfig{})
	name := "locktest-" + strings.ReplaceAll(t.Name(), "/", "-")
	path := LockPath(name)
	os.Remove(path)
	t.Cleanup(func() { os.Remove(path) })

	release, err := acquireLock(ctx, tr, name, "owner=a run=1", false)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v", fi, err)
	}
	_, err = acquireLock(ctx, tr, name, "owner=b run=2", false)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "owner=a run=1") {
		t.Fatalf("second lock: %v, want ErrLocked naming the holder", err)
	}
	// A stale lock is taken over with force; the first holder's release
	// must then leave the new lock alone.
	release2, err := acquireLock(ctx, tr, name, "owner=b run=2", true)
	if err != nil {
		t.Fatalf("forced lock: %v", err)
	}
	release()
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), "run=2") {
		t.Fatalf("the old holder's release removed the new lock: %q %v", b, err)
	}
	release2()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("lock not released: %v", err)
	}
}
