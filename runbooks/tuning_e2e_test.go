//go:build e2e

// End-to-end tests of runbooks/tuning.hcl (issue 18) on the real testbed:
// the guide's tuning as a change of two fields of the QoS Phase 2 made.
// Slurm itself (sacctmgr run directly on this machine, the controller) and
// sshd's log of every command are the oracles, not runbook's own report.
//
//	flock /tmp/testbed-e2e.flock go test -tags e2e -run 'TestTuning' ./runbooks/ -count=1
package runbooks_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// runbookFile runs `runbook VERB runbooks/FILE -i INVENTORY` with a fresh
// state directory; apply gets --auto-approve and its report is loaded.
func runbookFile(t *testing.T, verb, file string, args ...string) result {
	t.Helper()
	state := t.TempDir()
	argv := append([]string{verb, filepath.Join(repoRoot, "runbooks", file), "-i", inventory, "--state-dir", state}, args...)
	if verb == "apply" {
		argv = append(argv, "--auto-approve")
	}
	cmd := exec.Command(runbookBin, argv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running runbook: %v", err)
	}
	t.Logf("runbook %s %s %q → exit %d\n%s%s", verb, file, args, r.code, r.stdout, r.stderr)
	if verb != "apply" || r.code == exitInvalidInput {
		return r
	}
	runs, _ := filepath.Glob(filepath.Join(state, "runs", "*", "report.json"))
	if len(runs) != 1 {
		t.Fatalf("want one run record, found %v", runs)
	}
	js, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &r.report); err != nil {
		t.Fatal(err)
	}
	if md, err := os.ReadFile(filepath.Join(filepath.Dir(runs[0]), "checklist.md")); err == nil {
		r.md = string(md)
	}
	return r
}

// qosFields reads every field of a QoS straight from sacctmgr, keyed by
// its column header ("Priority", "MaxJobsPU", ...).
func qosFields(t *testing.T, name string) map[string]string {
	t.Helper()
	out := strings.Split(strings.TrimSpace(slurm(t, "sacctmgr", "-P", "show", "qos", name)), "\n")
	if len(out) != 2 {
		t.Fatalf("sacctmgr -P show qos %s: want a header and one row, got %q", name, out)
	}
	head, row := strings.Split(out[0], "|"), strings.Split(out[1], "|")
	if len(head) != len(row) {
		t.Fatalf("header %q and row %q differ in length", out[0], out[1])
	}
	m := map[string]string{}
	for i, h := range head {
		m[h] = row[i]
	}
	return m
}

// planChanges returns the field lines a plan prints under a step's line.
func planChanges(out, step string) []string {
	var lines []string
	in := false
	head := regexp.MustCompile(`^  \S \S+\s`)
	for _, l := range strings.Split(out, "\n") {
		if head.MatchString(l) {
			f := strings.Fields(l)
			in = len(f) > 1 && f[1] == step
			continue
		}
		if in && strings.TrimSpace(l) != "" && strings.HasPrefix(l, "    ") {
			lines = append(lines, strings.TrimSpace(l))
		} else {
			in = false
		}
	}
	return lines
}

func mutatingSince(t *testing.T, offset int64) []string {
	var out []string
	for _, c := range commandsSince(t, offset) {
		if mutating.MatchString(c) {
			out = append(out, c)
		}
	}
	return out
}

// On a cluster without the QoS, plan and apply fail at the assertion,
// before any change, saying to run Phase 2 first.
func TestTuningWithoutQoSFailsFirst(t *testing.T) {
	testbed(t, "up")
	testbed(t, "reset")
	before := clusterState(t)
	off := sshdLogSize(t)

	p := runbookFile(t, "plan", "tuning.hcl")
	if p.code != 1 || !strings.Contains(p.stdout, "run Phase 2 first") {
		t.Fatalf("plan without the QoS: exit %d, want 1 saying to run Phase 2 first", p.code)
	}
	a := runbookFile(t, "apply", "tuning.hcl")
	if a.code != 1 {
		t.Fatalf("apply without the QoS exited %d, want 1", a.code)
	}
	status, errText, _, _ := a.report.step(t, "phase2_done")
	if status != "failed" || !strings.Contains(errText, "run Phase 2 first") || !strings.Contains(errText, "phase2.hcl") {
		t.Fatalf("phase2_done: %s %q, want failed saying to run Phase 2 (phase2.hcl) first", status, errText)
	}
	for _, st := range []string{"tuning", "tuned"} {
		if status, _, _, cmds := a.report.step(t, st); status != "not_run" || len(cmds) > 0 {
			t.Errorf("step %s is %s and ran %q after the assertion failed", st, status, cmds)
		}
	}
	if m := mutatingSince(t, off); len(m) > 0 {
		t.Errorf("plan or apply ran changes on the host: %q", m)
	}
	if after := clusterState(t); after != before {
		t.Errorf("the cluster changed:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

// The guide's tuning 3 is refused before any host is contacted, with the
// explanation phase2.hcl gives (read from phase2's own diagnostics).
func TestTuningRefusesGPUMemoryLimit(t *testing.T) {
	detail := func(file string) string {
		t.Helper()
		out, err := exec.Command(runbookBin, "validate", "--json", filepath.Join(repoRoot, "runbooks", file), "--var", "gpu_memory_limit=gres/gpu:20000").Output()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInvalidInput {
			t.Fatalf("validate %s with gpu_memory_limit: %v, want exit %d\n%s", file, err, exitInvalidInput, out)
		}
		var v struct {
			Diagnostics []struct{ Detail string } `json:"diagnostics"`
		}
		if err := json.Unmarshal(out, &v); err != nil || len(v.Diagnostics) != 1 {
			t.Fatalf("validate --json %s: %v, %d diagnostics\n%s", file, err, len(v.Diagnostics), out)
		}
		// The detail ends naming the file and line of the rule.
		d, _, _ := strings.Cut(v.Diagnostics[0].Detail, "\n\nThis was checked by")
		return d
	}
	want, got := detail("phase2.hcl"), detail("tuning.hcl")
	if got != want || !strings.Contains(got, "no GPU-memory TRES") {
		t.Fatalf("tuning refuses with %q,\nphase2 with %q", got, want)
	}
	testbed(t, "up")
	off := sshdLogSize(t)
	r := runbookFile(t, "plan", "tuning.hcl", "--var", "gpu_memory_limit=20000")
	if r.code != exitInvalidInput || !strings.Contains(r.stdout+r.stderr, want) {
		t.Fatalf("plan with gpu_memory_limit: exit %d, want %d with phase2's explanation", r.code, exitInvalidInput)
	}
	if c := commandsSince(t, off); len(c) > 0 {
		t.Errorf("a refused plan ran commands on the host: %q", c)
	}
}

// After Phase 2: the plan shows exactly the two fields and no job, apply
// changes exactly those, and a second plan and apply find nothing to do.
func TestTuningAfterPhase2(t *testing.T) {
	file := filepath.Join(repoRoot, "runbooks", "tuning.hcl")
	if out, err := exec.Command(runbookBin, "validate", file).CombinedOutput(); err != nil || strings.Contains(string(out), "Warning") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	if out, err := exec.Command(runbookBin, "fmt", "-check", "-diff", file).CombinedOutput(); err != nil {
		t.Fatalf("fmt -check: %v\n%s", err, out)
	}
	for _, lang := range []string{"en", "ko"} {
		cl, err := exec.Command(runbookBin, "checklist", file, "--lang", lang).Output()
		if err != nil || strings.Count(string(cl), "- [ ] ") != 3 || strings.Contains(string(cl), "[x]") {
			t.Fatalf("checklist --lang %s: %v, want 3 blank lines:\n%s", lang, err, cl)
		}
	}
	testbed(t, "up")
	testbed(t, "reset")
	if r := apply(t, inventory, "--var", "account=hpc-users"); r.code != 0 {
		t.Fatalf("phase2 apply exited %d", r.code)
	}
	before := qosFields(t, "moonlight")
	if before["Priority"] != "100" || before["MaxJobsPU"] != "" {
		t.Fatalf("after Phase 2 the QoS has Priority %q, MaxJobsPU %q; want 100 and unset", before["Priority"], before["MaxJobsPU"])
	}
	jobsBefore := slurm(t, "sacct", "-X", "-P", "-n", "--allusers", "--starttime=now-7days", "--format=JobID")

	off := sshdLogSize(t)
	p := runbookFile(t, "plan", "tuning.hcl", "--detailed-exitcode")
	if p.code != 2 {
		t.Fatalf("plan exited %d, want 2 (changes pending)", p.code)
	}
	got := planChanges(p.stdout, "tuning")
	sort.Strings(got)
	want := []string{"MaxJobsPerUser: (unset) → 2", "Priority: " + before["Priority"] + " → 50"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan shows %q under tuning, want exactly %q", got, want)
	}
	if regexp.MustCompile(`(?m)^  [>+] `).MatchString(p.stdout) || !strings.Contains(p.stdout, "0 to create, 1 to modify, 0 to run") {
		t.Errorf("the plan would create or run something besides the modify:\n%s", p.stdout)
	}
	if m := mutatingSince(t, off); len(m) > 0 {
		t.Errorf("plan ran changes: %q", m)
	}

	off = sshdLogSize(t)
	a := runbookFile(t, "apply", "tuning.hcl")
	if a.code != 0 {
		t.Fatalf("apply exited %d", a.code)
	}
	m := mutatingSince(t, off)
	if len(m) != 1 || !strings.Contains(m[0], "sacctmgr -i modify qos moonlight set ") {
		t.Fatalf("apply ran %q on the host, want one sacctmgr -i modify", m)
	}
	_, set, _ := strings.Cut(m[0], " set ")
	fields := strings.Fields(set)
	sort.Strings(fields)
	if strings.Join(fields, " ") != "MaxJobsPerUser=2 Priority=50" {
		t.Errorf("modify set %q, want exactly MaxJobsPerUser=2 Priority=50", fields)
	}
	after := qosFields(t, "moonlight")
	for k, v := range before {
		switch k {
		case "Priority":
			if after[k] != "50" {
				t.Errorf("Priority reads %q, want 50", after[k])
			}
		case "MaxJobsPU":
			if after[k] != "2" {
				t.Errorf("MaxJobsPU reads %q, want 2", after[k])
			}
		default:
			if after[k] != v {
				t.Errorf("%s changed: %q → %q", k, v, after[k])
			}
		}
	}
	if jobs := slurm(t, "sacct", "-X", "-P", "-n", "--allusers", "--starttime=now-7days", "--format=JobID"); jobs != jobsBefore {
		t.Errorf("tuning submitted jobs:\n%s\nthen\n%s", jobsBefore, jobs)
	}
	if n, lines := ticked(a); n != 3 || len(a.report.Checklist) != 3 {
		t.Errorf("ticked %d of %d (%q), want 3 of 3:\n%s", n, len(a.report.Checklist), lines, a.md)
	}
	for _, it := range a.report.Checklist {
		if it.Ticked && len(it.Evidence) == 0 {
			t.Errorf("%q ticked without evidence", it.Text)
		}
	}

	off = sshdLogSize(t)
	if p := runbookFile(t, "plan", "tuning.hcl", "--detailed-exitcode"); p.code != 0 {
		t.Errorf("second plan exited %d, want 0 (nothing to do)", p.code)
	}
	again := runbookFile(t, "apply", "tuning.hcl")
	if again.code != 0 {
		t.Fatalf("second apply exited %d", again.code)
	}
	if status, _, _, _ := again.report.step(t, "tuning"); status != "unchanged" {
		t.Errorf("second apply: tuning is %s, want unchanged", status)
	}
	if m := mutatingSince(t, off); len(m) > 0 {
		t.Errorf("second plan/apply ran changes: %q", m)
	}
}
