//go:build e2e

// End-to-end tests of the file kinds (file, copy, template, line) over the
// testbed's real OpenSSH server: as koopark on paths it owns, and as
// rbadmin through sudo (with its password) on root-owned paths. Each
// runs plan, apply, a second apply and a second plan, and checks the
// files on disk, the commands sshd ran and the checklist.
package runbooks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// filesRun runs `runbook VERB testdata/files/NAME.hcl` on the testbed's
// inventory with --var dir=DIR. For apply it loads the run's report.
func filesRun(t *testing.T, verb, name, dir string, args ...string) result {
	t.Helper()
	state := t.TempDir()
	argv := []string{verb, filepath.Join(repoRoot, "runbooks", "testdata", "files", name+".hcl"), "-i", inventory, "--state-dir", state, "--var", "dir=" + dir}
	if verb == "apply" {
		argv = append(argv, "--auto-approve")
	}
	cmd := exec.Command(runbookBin, append(argv, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running runbook: %v", err)
	}
	t.Logf("runbook %s %s → exit %d\n%s%s", verb, name, r.code, r.stdout, r.stderr)
	if verb != "apply" {
		return r
	}
	runs, _ := filepath.Glob(filepath.Join(state, "runs", "*-files_"+name))
	if len(runs) != 1 {
		t.Fatalf("want one run record, found %v", runs)
	}
	js, err := os.ReadFile(filepath.Join(runs[0], "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &r.report); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(runs[0], "checklist.md"))
	if err != nil {
		t.Fatal(err)
	}
	r.md = string(md)
	return r
}

// filesStatuses maps each step of a one-host report to its status and
// the number of commands it ran.
func filesStatuses(t *testing.T, r result) (status map[string]string, commands map[string]int) {
	t.Helper()
	if len(r.report.Hosts) != 1 {
		t.Fatalf("report has %d hosts, want 1", len(r.report.Hosts))
	}
	status, commands = map[string]string{}, map[string]int{}
	for _, s := range r.report.Hosts[0].Steps {
		status[s.Name] = s.Status
		commands[s.Name] = len(s.Commands)
	}
	return status, commands
}

// filesSettled: a second apply changes nothing, at one command per step,
// and a plan after it has nothing to do.
func filesSettled(t *testing.T, name, dir string) {
	t.Helper()
	again := filesRun(t, "apply", name, dir)
	if again.code != 0 {
		t.Fatalf("second apply exited %d", again.code)
	}
	status, commands := filesStatuses(t, again)
	for step, st := range status {
		if st != "unchanged" || commands[step] != 1 {
			t.Errorf("second apply: %s is %s after %d commands, want unchanged after exactly 1", step, st, commands[step])
		}
	}
	n, _ := ticked(again)
	if n != len(again.report.Checklist) {
		t.Errorf("second apply ticked %d of %d lines: an unchanged step's probe is its evidence", n, len(again.report.Checklist))
	}
	p := filesRun(t, "plan", name, dir, "--detailed-exitcode")
	if p.code != 0 || !strings.Contains(p.stdout, "Plan: 0 to create, 0 to modify, 0 to run, 0 known after apply, "+strconv.Itoa(len(status))+" unchanged.") {
		t.Errorf("plan after the second apply exited %d, want 0 and all unchanged", p.code)
	}
}

// filesWorkDir makes a directory koopark owns, removed after the test.
func filesWorkDir(t *testing.T, owner string) string {
	t.Helper()
	u, err := user.Lookup(owner)
	if err != nil {
		t.Fatalf("testbed user %s: %v", owner, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("/tmp", "runbook-files-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// filesSeed writes a file as owner would have made it.
func filesSeed(t *testing.T, p, content, owner string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	u, _ := user.Lookup(owner)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
}

// filesExpect checks a file's content, mode and owner on disk.
func filesExpect(t *testing.T, p, content, mode, owner string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("%s: %v", p, err)
		return
	}
	if string(b) != content {
		t.Errorf("%s = %q, want %q", p, b, content)
	}
	fi, _ := os.Stat(p)
	if got := fmt.Sprintf("%04o", fi.Mode().Perm()); got != mode {
		t.Errorf("%s: mode %s, want %s", p, got, mode)
	}
	u, _ := user.LookupId(strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)))
	if u == nil || u.Username != owner {
		t.Errorf("%s: owner %v, want %s", p, u, owner)
	}
}

func TestFilesUserOwned(t *testing.T) {
	dir := filesWorkDir(t, "koopark")
	filesSeed(t, dir+"/app.conf", "alpha\nbeta\ngamma\n", "koopark")
	filesSeed(t, dir+"/default", "#TIMEOUT=10\nOTHER=1\n", "koopark")

	plan := filesRun(t, "plan", "user", dir, "--detailed-exitcode")
	if plan.code != 2 {
		t.Fatalf("plan exited %d, want 2 (changes pending)", plan.code)
	}
	for _, want := range []string{
		// mode and content of one file, together, and the diff readable.
		"mode: 0644 → 0600",
		"            diff:\n",
		"                 alpha\n",
		"                -beta\n",
		"                +beta-e2e-marker\n",
		"-#TIMEOUT=10\n",
		"+TIMEOUT=5\n",
		"+NodeName=n2\n",
		"create directory " + dir + "/conf.d",
		"create symlink " + dir + "/current → " + dir + "/conf.d",
		"Plan: 4 to create, 2 to modify",
	} {
		if !strings.Contains(plan.stdout, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if _, err := os.Stat(dir + "/conf.d"); !os.IsNotExist(err) {
		t.Fatal("the plan changed the host")
	}

	offset := sshdLogSize(t)
	r := filesRun(t, "apply", "user", dir)
	if r.code != 0 {
		t.Fatalf("apply exited %d", r.code)
	}
	status, commands := filesStatuses(t, r)
	for step, st := range status {
		// One probe and one change each, no more.
		if st != "changed" || commands[step] != 2 {
			t.Errorf("apply: %s is %s after %d commands, want changed after 2", step, st, commands[step])
		}
	}
	for _, c := range commandsSince(t, offset) {
		if strings.Contains(c, "e2e-marker") || strings.Contains(c, "NodeName") {
			t.Errorf("file content on sshd's command line: %s", c)
		}
	}
	filesExpect(t, dir+"/app.conf", "alpha\nbeta-e2e-marker\ngamma\n", "0600", "koopark")
	filesExpect(t, dir+"/conf.d/nodes.conf", "ClusterName=testcluster\nNodeName=n1\nNodeName=n2\n", "0644", "koopark")
	filesExpect(t, dir+"/default", "TIMEOUT=5\nOTHER=1\n", "0644", "koopark")
	filesExpect(t, dir+"/hosts", "10.0.0.1 n1\n", "0644", "koopark")
	if target, err := os.Readlink(dir + "/current"); err != nil || target != dir+"/conf.d" {
		t.Errorf("current → %q, %v", target, err)
	}
	backups, _ := filepath.Glob(dir + "/app.conf.*~")
	if len(backups) != 1 {
		t.Errorf("backups = %v, want one", backups)
	} else {
		filesExpect(t, backups[0], "alpha\nbeta\ngamma\n", "0644", "koopark")
	}
	if n, _ := ticked(r); n != 6 {
		t.Errorf("%d of 6 lines ticked:\n%s", n, r.md)
	}
	for _, it := range r.report.Checklist {
		ev := strings.Join(it.Evidence, "\n")
		if it.Step == "app_conf" && !strings.Contains(ev, "→ sha256:") {
			t.Errorf("app.conf's line lacks the before/after checksums:\n%s", ev)
		}
	}
	filesSettled(t, "user", dir)
}

func TestFilesRootOwnedWithBecome(t *testing.T) {
	// A fresh name under /tmp that nothing has made yet: the runbook
	// creates it as root and the cleanup runbook removes it.
	parent := filesWorkDir(t, "root")
	dir := parent + "/rootdir"
	filesSeedRootCleanup(t, dir)

	plan := filesRun(t, "plan", "root", dir, "--detailed-exitcode")
	if plan.code != 2 {
		t.Fatalf("plan exited %d, want 2", plan.code)
	}
	for _, want := range []string{
		"create directory " + dir,
		"owner: (new) → root",
		"mode: (new) → 0440",
		"+Defaults:rbadmin !lecture\n",
		"+ClusterName=rootcluster\n",
		"+GRUB_TIMEOUT=3\n",
	} {
		if !strings.Contains(plan.stdout, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	r := filesRun(t, "apply", "root", dir)
	if r.code != 0 {
		t.Fatalf("apply exited %d", r.code)
	}
	status, _ := filesStatuses(t, r)
	for step, st := range status {
		if st != "changed" {
			t.Errorf("apply: %s is %s", step, st)
		}
	}
	filesExpect(t, dir+"/sudoers-snippet", "Defaults:rbadmin !lecture\n", "0440", "root")
	filesExpect(t, dir+"/nodes.conf", "ClusterName=rootcluster\nNodeName=r1\n", "0644", "root")
	filesExpect(t, dir+"/grub", "GRUB_TIMEOUT=3\n", "0644", "root")
	if n, _ := ticked(r); n != 4 {
		t.Errorf("%d of 4 lines ticked:\n%s", n, r.md)
	}
	filesSettled(t, "root", dir)

	// Without become the login user may not write there: the error names
	// the path and the hint says what to do.
	denied := filesRun(t, "apply", "nobecome", dir)
	if denied.code != 1 {
		t.Fatalf("apply without become exited %d, want 1", denied.code)
	}
	st, errText, hint, _ := denied.report.step(t, "denied")
	if st != "failed" || !strings.Contains(errText, dir+"/denied.conf") || !strings.Contains(errText, "permission denied") || !strings.Contains(hint, "become = true") {
		t.Errorf("without become: %s, %q, hint %q", st, errText, hint)
	}
	if _, err := os.Stat(dir + "/denied.conf"); !os.IsNotExist(err) {
		t.Error("denied.conf was written")
	}
	if left, _ := filepath.Glob(dir + "/.*runbook-*"); len(left) > 0 {
		t.Errorf("temp files left: %v", left)
	}

	// A validate command that rejects the content keeps the old file.
	bad := filesRunWithContent(t, dir, "Defaults:rbadmin !lecture\nthis is not sudoers syntax\n")
	if bad.code != 1 {
		t.Fatalf("apply with content visudo rejects exited %d, want 1", bad.code)
	}
	if _, errText, _, _ := bad.report.step(t, "sudoers"); !strings.Contains(errText, "validate `/usr/sbin/visudo -cf %s` rejected the new "+dir+"/sudoers-snippet") {
		t.Errorf("validate failure: %q", errText)
	}
	filesExpect(t, dir+"/sudoers-snippet", "Defaults:rbadmin !lecture\n", "0440", "root")

	gone := filesRun(t, "apply", "cleanup", dir)
	if gone.code != 0 {
		t.Fatalf("cleanup apply exited %d", gone.code)
	}
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after state = \"absent\"", dir)
	}
	filesSettled(t, "cleanup", dir)
}

// filesSeedRootCleanup removes dir after the test even when the cleanup
// runbook did not run.
func filesSeedRootCleanup(t *testing.T, dir string) {
	t.Cleanup(func() { os.RemoveAll(dir) })
}

// filesRunWithContent applies root.hcl with the sudoers snippet's content
// replaced (a copy of the runbook beside the template it needs).
func filesRunWithContent(t *testing.T, dir, content string) result {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "runbooks", "testdata", "files", "root.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), `content   = "Defaults:rbadmin !lecture\n"`, "content   = "+strconv.Quote(content), 1)
	if text == string(src) {
		t.Fatal("root.hcl's sudoers content not found")
	}
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "root.hcl"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, _ := os.ReadFile(filepath.Join(repoRoot, "runbooks", "testdata", "files", "nodes.tftpl"))
	if err := os.WriteFile(filepath.Join(tmp, "nodes.tftpl"), tpl, 0o644); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	cmd := exec.Command(runbookBin, "apply", filepath.Join(tmp, "root.hcl"), "-i", inventory, "--state-dir", state, "--var", "dir="+dir, "--auto-approve")
	out, _ := cmd.CombinedOutput()
	r := result{code: cmd.ProcessState.ExitCode(), stdout: string(out)}
	t.Logf("apply with changed content → exit %d\n%s", r.code, out)
	runs, _ := filepath.Glob(filepath.Join(state, "runs", "*-files_root"))
	if len(runs) != 1 {
		t.Fatalf("want one run record, found %v", runs)
	}
	js, err := os.ReadFile(filepath.Join(runs[0], "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &r.report); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFilesBadInput: each mistake is an exit 3 at validate, with the
// file and line of the attribute at fault.
func TestFilesBadInput(t *testing.T) {
	p := filepath.Join(repoRoot, "runbooks", "testdata", "files", "bad.hcl")
	cmd := exec.Command(runbookBin, "validate", p)
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("validate exited %d, want 3\n%s", code, out)
	}
	for _, want := range []string{
		"bad.hcl line 7", `dest "etc/motd" is relative`,
		"bad.hcl line 13", `not "folder"`,
		"bad.hcl line 19", `mode = 644 is a number, which is ambiguous`, `mode = "0644"`,
		"bad.hcl line 25", `regexp "a(b" does not compile`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
}
