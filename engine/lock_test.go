package engine

import (
	"context"
	"errors"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/transport"
)

// lockFor is a runbook named for the test and where this user's lock of
// it is on this machine, removed when the test ends.
func lockFor(t *testing.T) (*config.Config, string) {
	t.Helper()
	name := "locktest-" + strings.ReplaceAll(t.Name(), "/", "-")
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	path := LockPath(name, host, me)
	os.Remove(path)
	t.Cleanup(func() { os.Remove(path) })
	return &config.Config{Runbook: &config.Runbook{Name: name}}, path
}

func TestLockIsExclusiveAndForceable(t *testing.T) {
	ctx := context.Background()
	tr := transport.NewLocal(transport.LocalConfig{})
	cfg, path := lockFor(t)

	release, err := acquireLock(ctx, tr, cfg, "owner=a run=1", false)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v", fi, err)
	}
	_, err = acquireLock(ctx, tr, cfg, "owner=b run=2", false)
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Holder != "owner=a run=1" || locked.Path != path {
		t.Fatalf("second lock: %v, want ErrLocked naming the holder and %s", err, path)
	}
	// A stale lock is taken over with force; the first holder's release
	// must then leave the new lock alone.
	release2, err := acquireLock(ctx, tr, cfg, "owner=b run=2", true)
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

// brokenRootLockDir points root's lock directory at a fresh path in a
// directory of the test's own, so that breaking it disturbs no other
// test's locks. Root only: the directory checks are about owners.
func brokenRootLockDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test hands files to another uid")
	}
	old := rootLockDir
	rootLockDir = filepath.Join(t.TempDir(), "runbook")
	t.Cleanup(func() { rootLockDir = old })
	return rootLockDir
}

// What another local user (uid 65534 here) or a careless hand could leave
// where the lock goes is refused, never taken as a lock or as "held".
func TestLockRefusesWhatItCannotTrust(t *testing.T) {
	ctx := context.Background()
	tr := transport.NewLocal(transport.LocalConfig{})
	const other = 65534
	for _, c := range []struct {
		name  string
		plant func(t *testing.T, dir, lock string)
		want  string
	}{
		{"lock is a symlink to /dev/null", func(t *testing.T, dir, lock string) {
			mkdir(t, dir, 0o755)
			must(t, os.Symlink("/dev/null", lock))
		}, "not a regular file"},
		{"lock is another user's file", func(t *testing.T, dir, lock string) {
			mkdir(t, dir, 0o755)
			must(t, os.WriteFile(lock, []byte("owner=mallory run=x\n"), 0o644))
			must(t, os.Chown(lock, other, other))
		}, "not a regular file of uid 0"},
		{"directory is another user's", func(t *testing.T, dir, lock string) {
			mkdir(t, dir, 0o755)
			must(t, os.Chown(dir, other, other))
		}, "owned by uid 65534"},
		{"directory is a symlink", func(t *testing.T, dir, lock string) {
			elsewhere := t.TempDir()
			must(t, os.Chown(elsewhere, other, other))
			must(t, os.Symlink(elsewhere, dir))
		}, "not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := brokenRootLockDir(t)
			cfg := &config.Config{Runbook: &config.Runbook{Name: "trust"}}
			lock := filepath.Join(dir, "trust.lock")
			c.plant(t, dir, lock)
			release, err := acquireLock(ctx, tr, cfg, "owner=me run=1", false)
			if err == nil {
				release()
				t.Fatal("the lock was taken")
			}
			if errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
		})
	}
	t.Run("directory writable by others is made root's alone", func(t *testing.T) {
		dir := brokenRootLockDir(t)
		mkdir(t, dir, 0o777)
		cfg := &config.Config{Runbook: &config.Runbook{Name: "mode"}}
		release, err := acquireLock(ctx, tr, cfg, "owner=me run=1", false)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
			t.Fatalf("lock directory: %v %v, want mode 0755", fi, err)
		}
	})
}

// --force-unlock says "removed" only when the old lock is gone, and
// otherwise fails: it must not report a removal that did not happen.
func TestForceUnlockReportsAFailedRemoval(t *testing.T) {
	dir := brokenRootLockDir(t)
	// rm -f cannot remove a directory that is not empty.
	mkdir(t, filepath.Join(dir, "force.lock", "x"), 0o700)
	cfg := &config.Config{Runbook: &config.Runbook{Name: "force"}}
	var err error
	stderr := captureStderr(t, func() {
		var release func()
		release, err = acquireLock(context.Background(), transport.NewLocal(transport.LocalConfig{}), cfg, "owner=me run=1", true)
		if err == nil {
			release()
		}
	})
	if err == nil || !strings.Contains(err.Error(), "could not remove") {
		t.Fatalf("forced lock over what cannot be removed: %v, want an error saying it could not remove it", err)
	}
	if strings.Contains(stderr, "removed") {
		t.Fatalf("reported a removal that did not happen: %q", stderr)
	}
}

func TestUsesBecome(t *testing.T) {
	step := func(become string) *config.Step {
		if become == "" {
			return &config.Step{}
		}
		e, diags := hclsyntax.ParseExpression([]byte(become), "become", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return &config.Step{Become: e}
	}
	for _, c := range []struct {
		become []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"false", ""}, false},
		{[]string{"", "true"}, true},
		// Known only on the host: the lock must be root's in case it is.
		{[]string{"var.as_root"}, true},
	} {
		cfg := &config.Config{}
		for _, b := range c.become {
			cfg.Steps = append(cfg.Steps, step(b))
		}
		if got := usesBecome(cfg); got != c.want {
			t.Errorf("become %q: usesBecome %v, want %v", c.become, got, c.want)
		}
	}
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	must(t, os.MkdirAll(dir, mode))
	must(t, os.Chmod(dir, mode))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// captureStderr runs f with os.Stderr going to a pipe and returns what
// was written there.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	must(t, err)
	old := os.Stderr
	os.Stderr = w
	got := make(chan string)
	go func() { b, _ := io.ReadAll(r); got <- string(b) }()
	defer func() { os.Stderr = old }()
	f()
	w.Close()
	return <-got
}
