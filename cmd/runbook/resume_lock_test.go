package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine"
)

// A failed run resumed: the step that only runs (no probe can tell it
// already happened) is not repeated, its results reach later steps, and
// the failed step runs again.
func TestResumeSkipsCompletedRunSteps(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "counter")
	gate := filepath.Join(dir, "gate")
	name := strings.ToLower(uniqueName(t))
	rb := writeRunbook(t, `
runbook "`+name+`" { title = "resume test" }
step "command" "count" {
  checklist = "count once"
  command   = "echo x >> `+counter+`; echo token-42"
}
step "check" "gated" {
  checklist = "gate passes"
  argv      = ["test", "-e", "`+gate+`"]
  depends_on = [step.count]
}
step "assert" "uses_count" {
  checklist     = "result carried over"
  condition     = trimspace(step.count.stdout) == "token-42"
  error_message = "step.count.stdout was not carried over"
  depends_on    = [step.gated]
}
`)
	state := t.TempDir()
	first := runCLI(t, "apply", rb, "--auto-approve", "--state-dir", state)
	if first.code != 1 {
		t.Fatalf("first run: %s", first)
	}
	runID := filepath.Base(onlyRunDir(t, state))
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	second := runCLI(t, "apply", rb, "--auto-approve", "--state-dir", state, "--resume", runID)
	if second.code != 0 {
		t.Fatalf("resumed run: %s", second)
	}
	if b, _ := os.ReadFile(counter); strings.Count(string(b), "x") != 1 {
		t.Fatalf("the completed command ran again on resume: counter %q", b)
	}
	dirs := runDirs(t, state)
	r := readReport(t, dirs[len(dirs)-1])
	steps := stepsByName(t, r)
	if s := steps["count"]; s.ResumedFrom != runID || !strings.HasPrefix(s.Summary, "resumed:") {
		t.Fatalf("count: resumed_from %q summary %q", s.ResumedFrom, s.Summary)
	}
	if s := steps["gated"]; s.Status != "ok" {
		t.Fatalf("gated is %s", s.Status)
	}
	for _, it := range r.Checklist {
		if !it.Ticked {
			t.Errorf("%q not ticked: %s", it.Text, it.Reason)
		}
	}
	// Evidence for the carried-over line says where it comes from.
	if got := strings.Join(steps["count"].Notes, " "); !strings.Contains(got, "evidence from run "+runID) {
		t.Errorf("count notes %q do not name the earlier run", got)
	}

	bad := runCLI(t, "apply", rb, "--auto-approve", "--state-dir", state, "--resume", "no-such-run")
	if bad.code != 3 {
		t.Fatalf("--resume of a missing run: %s", bad)
	}

	// The resumed run succeeded: resuming it is refused before anything
	// runs or is recorded, not after a plan with a record left "running".
	before := len(runDirs(t, state))
	done := filepath.Base(dirs[len(dirs)-1])
	again := runCLI(t, "apply", rb, "--auto-approve", "--state-dir", state, "--resume", done)
	if again.code != 3 || !strings.Contains(again.stderr, "only a failed or interrupted apply can be resumed") {
		t.Fatalf("--resume of a successful run: %s", again)
	}
	if after := len(runDirs(t, state)); after != before {
		t.Errorf("a refused --resume left %d new run records", after-before)
	}
	if b, _ := os.ReadFile(counter); strings.Count(string(b), "x") != 1 {
		t.Errorf("a refused --resume ran the command: counter %q", b)
	}
}

// localLockPath is where this user's apply on this machine locks runbook;
// removed when the test ends.
func localLockPath(t *testing.T, runbook string) string {
	t.Helper()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	path := engine.LockPath(runbook, host, me)
	os.Remove(path)
	t.Cleanup(func() { os.Remove(path) })
	return path
}

// The run lock: a second apply of the same runbook on a host is refused
// while the first holds it; --force-unlock takes over a stale lock.
func TestApplyRefusedWhileLocked(t *testing.T) {
	name := strings.ToLower(uniqueName(t))
	rb := writeRunbook(t, `
runbook "`+name+`" {}
step "check" "hello" { argv = ["true"] }
`)
	lock := localLockPath(t, name)
	if err := os.MkdirAll(filepath.Dir(lock), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, []byte("owner=someone@elsewhere pid=1 started=2026-11-25T00:00:00Z run=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	r := runCLI(t, "apply", rb, "--auto-approve", "--state-dir", state)
	if r.code != 1 || !strings.Contains(r.stdout, "someone@elsewhere") || !strings.Contains(r.stdout, "--force-unlock") {
		t.Fatalf("apply on a locked host: %s", r)
	}
	rep := readReport(t, onlyRunDir(t, state))
	if rep.Hosts[0].Error == "" || rep.Hosts[0].Steps[0].Status != "not_run" {
		t.Fatalf("report does not record the lock: %+v", rep.Hosts[0])
	}
	r = runCLI(t, "apply", rb, "--auto-approve", "--state-dir", t.TempDir(), "--force-unlock")
	if r.code != 0 || !strings.Contains(r.stderr, "removed the lock") {
		t.Fatalf("--force-unlock: %s", r)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Fatalf("lock left behind after the run: %v", err)
	}
}

func TestApplyWritesMetricsFile(t *testing.T) {
	name := strings.ToLower(uniqueName(t))
	rb := writeRunbook(t, `
runbook "`+name+`" {}
step "check" "hello" { argv = ["true"] }
`)
	prom := filepath.Join(t.TempDir(), "runbook.prom")
	r := runCLI(t, "apply", rb, "--auto-approve", "--state-dir", t.TempDir(), "--metrics-file", prom)
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`runbook_run_success{runbook="` + name + `"} 1`,
		`runbook_step_success{runbook="` + name + `",host="localhost",step="hello",kind="check"} 1`,
		"runbook_last_success_timestamp_seconds",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
}

// A metrics file that cannot be written fails the apply (exit 1) even
// though every step succeeded: what watches the file would otherwise go on
// reading the previous run's outcome as current.
func TestApplyFailsWhenMetricsFileCannotBeWritten(t *testing.T) {
	name := strings.ToLower(uniqueName(t))
	rb := writeRunbook(t, `
runbook "`+name+`" {}
step "check" "hello" { argv = ["true"] }
`)
	prom := filepath.Join(t.TempDir(), "no-such-directory", "runbook.prom")
	r := runCLI(t, "apply", rb, "--auto-approve", "--state-dir", t.TempDir(), "--metrics-file", prom)
	if r.code != exitFailed {
		t.Fatalf("apply exited %d, want %d: %s", r.code, exitFailed, r)
	}
	if !strings.Contains(r.stderr, "could not write the metrics file") {
		t.Errorf("stderr does not say the metrics file failed: %s", r)
	}
}

// Two inventory hosts that are one machine share its lock: with both
// worked at once, the second is refused by the first's lock, and the hint
// says so instead of blaming "another apply".
func TestLockSharedByTwoNamesOfOneMachine(t *testing.T) {
	name := strings.ToLower(uniqueName(t))
	rb := writeRunbook(t, `
runbook "`+name+`" {}
step "check" "hold" { argv = ["sleep", "1"] }
`)
	localLockPath(t, name)
	inv := filepath.Join(t.TempDir(), "inventory.hcl")
	if err := os.WriteFile(inv, []byte("host \"a\" {\n  local = true\n}\n\nhost \"b\" {\n  local = true\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "apply", rb, "-i", inv, "--auto-approve", "--state-dir", t.TempDir(), "--forks", "2")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "--forks 1") || strings.Contains(r.stdout+r.stderr, "--force-unlock") {
		t.Fatalf("two names of one machine at once: %s", r)
	}
	r = runCLI(t, "apply", rb, "-i", inv, "--auto-approve", "--state-dir", t.TempDir(), "--forks", "1")
	if r.code != 0 {
		t.Fatalf("--forks 1: %s", r)
	}
}
