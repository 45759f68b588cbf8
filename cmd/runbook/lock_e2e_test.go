//go:build e2e

// The run lock against another local user of the host (issue 15,
// finding 7): rbnosudo, who has no sudo, plays the other user. Nothing
// it plants, where the lock used to be or where it is now, blocks an
// apply or lets two applies of one runbook run at once.
//
//	set -a; . /tmp/runbook-testbed/env; set +a
//	flock /tmp/testbed-e2e.flock go test -tags e2e -count=1 -run 'TestLockE2E' ./cmd/runbook/
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// e2eOtherUser has an account on the host but no sudo and no part in
// the applies.
const e2eOtherUser = "rbnosudo"

// e2eLockPath is where an apply connected as login (no become, or a
// become sudo refuses for the lock) locks runbook on this host: under
// the login's home, in a directory named for the host; root's is in
// /run/runbook. Spelled out here rather than taken from engine.LockPath,
// so that the test states the layout it expects.
func e2eLockPath(t *testing.T, login, runbook string) string {
	t.Helper()
	if login == "root" {
		return "/run/runbook/" + runbook + ".lock"
	}
	u, err := user.Lookup(login)
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(u.HomeDir, ".runbook", "locks", host, runbook+".lock")
}

// e2eAsOtherUser runs a shell line as e2eOtherUser.
func e2eAsOtherUser(line string) (string, error) {
	out, err := exec.Command("runuser", "-u", e2eOtherUser, "--", "/bin/sh", "-c", line).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// e2eOldLockPath is where the lock was before: /tmp, which every user
// may write.
func e2eOldLockPath(runbook string) string { return "/tmp/runbook-" + runbook + ".lock" }

// The lock's path in the shared /tmp, made by another user first, used
// to refuse every apply ("locked by another apply"), and --force-unlock
// printed "removed" while rm failed in the sticky /tmp.
func TestLockE2EAnotherUserCannotBlock(t *testing.T) {
	e2eRequireTestbed(t)
	name := e2eName("lock-block-")
	src := fmt.Sprintf(`
runbook %q { hosts = "ctl1" }

step "command" "hello" { command = "true" }
`, name)
	old := e2eOldLockPath(name)
	t.Cleanup(func() { os.Remove(old) })
	if out, err := e2eAsOtherUser("echo 'owner=mallory@here pid=1 started=2026-01-01T00:00:00Z run=x' > " + old); err != nil {
		t.Fatalf("planting %s as %s: %v %s", old, e2eOtherUser, err, out)
	}

	p, _ := e2eApply(t, src, "", nil)
	if r := p.wait(t, time.Minute); r.code != 0 {
		t.Fatalf("apply with another user's file at the old lock path: exit %d, want 0\n%s", r.code, r)
	}
	// Where the lock is now, the other user can create nothing.
	lock := e2eLockPath(t, "koopark", name)
	for _, dir := range []string{filepath.Dir(lock), "/run/runbook"} {
		if out, err := e2eAsOtherUser("echo owner=mallory > " + dir + "/" + name + ".lock"); err == nil {
			os.Remove(filepath.Join(dir, name+".lock"))
			t.Errorf("%s could create a lock in %s: %s", e2eOtherUser, dir, out)
		}
	}
	// Nothing to remove: --force-unlock must not say it removed anything.
	p, _ = e2eApply(t, src, "", nil, "--force-unlock")
	r := p.wait(t, time.Minute)
	if r.code != 0 || strings.Contains(r.stderr, "removed") {
		t.Fatalf("--force-unlock with another user's file at the old lock path: exit %d, want 0 and no removal\n%s", r.code, r)
	}
	if _, err := os.Stat(old); err != nil {
		t.Errorf("the other user's file is gone: %v", err)
	}
}

// A symlink to /dev/null at the lock's path defeated noclobber (the
// shell opens an existing file that is not a regular one): both applies
// "took" the lock and ran at once. Now exactly one of two proceeds.
func TestLockE2EOneOfTwoConcurrentApplies(t *testing.T) {
	e2eRequireTestbed(t)
	name := e2eName("lock-two-")
	src := fmt.Sprintf(`
runbook %q { hosts = "ctl1" }

step "command" "hold" { command = "sleep 4" }
`, name)
	old := e2eOldLockPath(name)
	t.Cleanup(func() { os.Remove(old) })
	if out, err := e2eAsOtherUser("ln -s /dev/null " + old); err != nil {
		t.Fatalf("planting a symlink at %s as %s: %v %s", old, e2eOtherUser, err, out)
	}
	a, _ := e2eApply(t, src, "", nil)
	b, _ := e2eApply(t, src, "", nil)
	ra, rb := a.wait(t, time.Minute), b.wait(t, time.Minute)
	ran, refused := 0, 0
	for _, r := range []result{ra, rb} {
		switch {
		case r.code == 0:
			ran++
		case r.code == 1 && strings.Contains(r.stdout, "locked by another apply"):
			refused++
		}
	}
	if ran != 1 || refused != 1 {
		t.Fatalf("two applies at once: %d ran and %d were refused by the lock, want 1 and 1\nfirst: %s\nsecond: %s", ran, refused, ra, rb)
	}
}

// A runbook that uses become locks as root in /run/runbook, which only
// root writes, so every admin's apply meets the same lock; when sudo will
// not run the lock command (koopark may run only sacctmgr), the lock is
// the login's own, under their home.
func TestLockE2EWhereTheLockIs(t *testing.T) {
	e2eRequireTestbed(t)
	for _, c := range []struct {
		host, owner string
		dirMode     os.FileMode
	}{
		{"ctl1-rbadmin", "root", 0o755},
		{"ctl1", "koopark", 0o700},
	} {
		t.Run(c.host, func(t *testing.T) {
			u, err := user.Lookup(c.owner)
			if err != nil {
				t.Fatal(err)
			}
			uid, err := strconv.Atoi(u.Uid)
			if err != nil {
				t.Fatal(err)
			}
			name := e2eName("lock-where-")
			running := e2eMarker(t, "lock-where")
			src := fmt.Sprintf(`
runbook %q { hosts = %q }

step "command" "hold" { command = "touch %s; sleep 3" }

step "command" "as_root" {
  argv   = ["/usr/bin/sacctmgr", "-n", "show", "qos", "normal"]
  become = true
  when   = false
}
`, name, c.host, running)
			lock := e2eLockPath(t, c.owner, name)
			p, _ := e2eApply(t, src, "", nil)
			e2eWaitFor(t, 30*time.Second, "the step to run", p, func() bool { return e2eExists(running) })
			fi, err := os.Lstat(lock)
			if err != nil {
				t.Fatalf("no lock at %s while the apply runs: %v", lock, err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if !fi.Mode().IsRegular() || int(st.Uid) != uid {
				t.Errorf("lock %s: %v owned by uid %d, want a regular file of %s", lock, fi.Mode(), st.Uid, c.owner)
			}
			if b, _ := os.ReadFile(lock); !strings.Contains(string(b), "owner=") || !strings.Contains(string(b), "run=") {
				t.Errorf("lock %s does not say who holds it: %q", lock, b)
			}
			dir, err := os.Lstat(filepath.Dir(lock))
			if err != nil || !dir.IsDir() || dir.Mode().Perm() != c.dirMode || int(dir.Sys().(*syscall.Stat_t).Uid) != uid {
				t.Errorf("lock directory %s: %v %v, want a directory of %s with mode %v", filepath.Dir(lock), dir, err, c.owner, c.dirMode)
			}
			// A second apply meets the lock and names its holder and path.
			q, _ := e2eApply(t, src, "", nil)
			rq := q.wait(t, time.Minute)
			if rq.code != 1 || !strings.Contains(rq.stdout, "locked by another apply") || !strings.Contains(rq.stdout, lock) {
				t.Errorf("second apply while the first holds %s: %s", lock, rq)
			}
			if r := p.wait(t, time.Minute); r.code != 0 {
				t.Fatalf("apply: exit %d\n%s", r.code, r)
			}
			if _, err := os.Lstat(lock); !os.IsNotExist(err) {
				t.Errorf("lock %s left after the apply: %v", lock, err)
			}
		})
	}
}
