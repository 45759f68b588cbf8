//go:build e2e

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
)

// TestResumeWithOtherVarRefused is issue 15's finding 5 on the testbed: a
// test job run with x=Alpha, then a later step failed. Resuming with
// --var x=Bravo must not tick "ran the job with x=Bravo" on the job that
// ran with Alpha: it is refused, naming var.x and no value, before any
// command reaches the host. Resumed with x=Alpha, the job is carried over
// and every rendering says its evidence is from the first run; the
// successful run cannot be resumed in turn.
func TestResumeWithOtherVarRefused(t *testing.T) {
	e2eRequireTestbed(t)
	e2eScript(t, "up")
	id := e2eName("")
	t.Cleanup(func() { e2eRemoveGlob("/tmp/rb-e2e-resume-" + id + "*") })
	gate := e2eMarker(t, "resume-gate")
	rb := e2eWrite(t, "runbook.hcl", fmt.Sprintf(`
runbook "resume-inputs-%s" { hosts = "ctl1" }

variable "x" {
  type = string
}

step "test_job" "job" {
  qos           = "normal"
  partition     = "viz"
  run           = "echo x=${shellquote(var.x)}"
  expect_output = ["x=${var.x}"]
  script_path   = "/tmp/rb-e2e-resume-%s.sh"
  output        = "/tmp/rb-e2e-resume-%s-%%j.out"
  timeout       = "90s"
  checklist     = "ran the job with x=${var.x}"
}

step "check" "gate" {
  checklist  = "the gate is open"
  argv       = ["test", "-e", %q]
  depends_on = [step.job]
}
`, id, id, id, gate))
	state := t.TempDir()
	apply := func(x string, extra ...string) result {
		t.Helper()
		argv := append([]string{"apply", rb, "-i", e2eInventory, "--auto-approve", "--state-dir", state, "--var", "x=" + x}, extra...)
		return e2eStart(t, nil, argv...).wait(t, 120*time.Second)
	}
	sbatchSince := func(mark int64) []string {
		var out []string
		for _, c := range e2eCommandsSince(t, e2eSSHDLog, mark) {
			if strings.Contains(c, "sbatch") {
				out = append(out, c)
			}
		}
		return out
	}

	// The job runs with Alpha; the gate is shut, so the run fails after it.
	first := apply("Alpha")
	if first.code != 1 {
		t.Fatalf("first run: want exit 1 (the gate fails)\n%s", first)
	}
	firstID := filepath.Base(onlyRunDir(t, state))
	if job := stepsByName(t, readReport(t, onlyRunDir(t, state)))["job"]; job.Status != report.StatusChanged {
		t.Fatalf("the job did not run in the first run: %s %s", job.Status, job.Error)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	// Another value: refused, naming the variable, nothing run.
	mark := e2eLogMark(t, e2eSSHDLog)
	other := apply("Bravo", "--resume", firstID)
	if other.code != 3 || !strings.Contains(other.stderr, "var.x differs from that run's") {
		t.Fatalf("resume with another x: want exit 3 naming var.x\n%s", other)
	}
	if strings.Contains(other.stderr+other.stdout, "Alpha") {
		t.Errorf("the refusal prints the earlier run's value:\n%s", other)
	}
	if cmds := e2eCommandsSince(t, e2eSSHDLog, mark); len(cmds) != 0 {
		t.Errorf("a refused resume ran commands on the host: %q", cmds)
	}

	// The same value: the job is carried over, not submitted again, and
	// said to be so everywhere.
	mark = e2eLogMark(t, e2eSSHDLog)
	same := apply("Alpha", "--resume", firstID)
	if same.code != 0 {
		t.Fatalf("resume with the same x\n%s", same)
	}
	if s := sbatchSince(mark); len(s) != 0 {
		t.Errorf("the carried-over job was submitted again: %q", s)
	}
	dirs := runDirs(t, state)
	dir := dirs[len(dirs)-1]
	rep := readReport(t, dir)
	if rep.Result != report.ResultSuccess {
		t.Fatalf("resumed run: %s", rep.Result)
	}
	if job := stepsByName(t, rep)["job"]; job.ResumedFrom != firstID {
		t.Errorf("job: resumed_from %q, want %s", job.ResumedFrom, firstID)
	}
	label := report.CarriedLabel(firstID)
	for _, it := range rep.Checklist {
		carried := it.Step == "job"
		if !it.Ticked || (it.CarriedFrom == firstID) != carried || (len(it.Evidence) > 0 && it.Evidence[0] == label) != carried {
			t.Errorf("checklist item %q: ticked %v carried_from %q evidence %q", it.Text, it.Ticked, it.CarriedFrom, it.Evidence)
		}
	}
	summary := "1 on evidence carried over by --resume from run " + firstID
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for name, want := range map[string][]string{
		"checklist.md": {summary, "- evidence: " + label},
		"report.html":  {summary, "carried over by --resume from run <code>" + firstID + "</code>"},
		"junit.xml":    {label},
	} {
		got := read(name)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s does not say %q", name, w)
			}
		}
		if strings.Contains(got, "items ticked on evidence from this run") {
			t.Errorf("%s says every tick is on evidence from this run", name)
		}
	}
	if !strings.Contains(same.stdout, "1 of them on evidence carried over by --resume from run "+firstID) {
		t.Errorf("the terminal summary does not say a tick is carried over:\n%s", same.stdout)
	}

	// A successful run has nothing to resume.
	again := apply("Alpha", "--resume", filepath.Base(dir))
	if again.code != 3 || !strings.Contains(again.stderr, "only a failed or interrupted apply can be resumed") {
		t.Errorf("resume of a successful run: want exit 3\n%s", again)
	}
}
