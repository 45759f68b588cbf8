//go:build e2e

// End-to-end tests of runbooks/troubleshoot.hcl (issue 18) on the real
// testbed: a healthy cluster, a user without the grant, and a user whose
// third GPU job pends with QOSMaxGRESPerUser. Slurm itself (sacctmgr and
// squeue run directly on this machine, the controller) is the oracle of
// every answer, and sshd's log of every command the oracle of "changes
// nothing".
//
//	flock /tmp/testbed-e2e.flock go test -tags e2e -run 'TestTroubleshoot' ./runbooks/ -count=1
package runbooks_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tsRun runs `runbook VERB runbooks/troubleshoot.hcl` on the testbed with
// a fresh state directory and loads the record of the run (langRun's,
// for the file in runbooks/ rather than testdata/).
func tsRun(t *testing.T, verb string, args ...string) langResult {
	t.Helper()
	state := t.TempDir()
	argv := append([]string{verb, filepath.Join(repoRoot, "runbooks", "troubleshoot.hcl"),
		"-i", inventory, "--state-dir", state, "--no-color"}, args...)
	if verb == "apply" {
		argv = append(argv, "--auto-approve")
	}
	cmd := exec.Command(runbookBin, argv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := langResult{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running runbook: %v", err)
	}
	t.Logf("runbook %s troubleshoot.hcl %q → exit %d\n%s%s", verb, args, r.code, r.stdout, r.stderr)
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
	return r
}

// tsOutputs returns the run's outputs (one host) by name, as JSON values.
func tsOutputs(t *testing.T, r langResult) map[string]any {
	t.Helper()
	if len(r.report.Hosts) != 1 {
		t.Fatalf("want one host in the record, got %d", len(r.report.Hosts))
	}
	out := map[string]any{}
	for _, o := range r.report.Hosts[0].Outputs {
		if o.Error != "" || o.Unknown {
			t.Errorf("output %s: error %q, unknown %v", o.Name, o.Error, o.Unknown)
			continue
		}
		var v any
		if err := json.Unmarshal(o.Value, &v); err != nil {
			t.Fatalf("output %s = %s: %v", o.Name, o.Value, err)
		}
		out[o.Name] = v
	}
	want := []string{"associations", "enforcement", "gpu_jobs", "gpu_use", "job", "pending_jobs", "qos_limits"}
	if got := slices.Sorted(maps.Keys(out)); !slices.Equal(got, want) {
		t.Errorf("outputs %q, want %q", got, want)
	}
	return out
}

// tsReadOnly fails the test when the run, or anything over sshd since
// offset, ran a command that changes Slurm (sacctmgr add/modify/delete,
// sbatch, scancel, srun, scontrol update), or when the run's steps are of
// any kind but check and assert.
func tsReadOnly(t *testing.T, r langResult, offset int64) {
	t.Helper()
	var ran []string
	for _, h := range r.report.Hosts {
		for _, s := range h.Steps {
			for _, c := range s.Commands {
				ran = append(ran, c.Command)
				if mutating.MatchString(c.Command) {
					t.Errorf("step %s ran a mutating command: %s", s.Name, c.Command)
				}
			}
		}
	}
	if len(ran) == 0 {
		t.Fatalf("the record holds no commands: nothing was read")
	}
	// The log is read at all (else the check below could never fail).
	if logged := commandsSince(t, offset); len(logged) == 0 {
		t.Errorf("sshd logged no command of this run")
	}
	if m := mutatingSince(t, offset); len(m) > 0 {
		t.Errorf("sshd ran mutating commands: %q", m)
	}
}

// tsFailed returns the names of the failed steps of a run.
func tsFailed(r langResult) []string {
	var failed []string
	for _, h := range r.report.Hosts {
		for _, s := range h.Steps {
			if s.Status == "failed" {
				failed = append(failed, s.Name)
			}
		}
	}
	return failed
}

// tsStepError returns a step's error text.
func tsStepError(t *testing.T, r langResult, name string) string {
	t.Helper()
	for _, h := range r.report.Hosts {
		for _, s := range h.Steps {
			if s.Name == name {
				return s.Error
			}
		}
	}
	t.Fatalf("no step %s in the record", name)
	return ""
}

// tsPhase2 brings the testbed to the guide's end state: reset, then
// phase2.hcl with the QoS granted to hpc-users (koopark and rbadmin).
func tsPhase2(t *testing.T) {
	t.Helper()
	testbed(t, "up")
	testbed(t, "reset")
	if r := apply(t, inventory, "--var", "account=hpc-users"); r.code != 0 {
		t.Fatalf("phase2 apply exited %d", r.code)
	}
}

// tsSlurmState is what a read-only run must leave as it found it: the QoS,
// the associations and the queue (ids and states).
func tsSlurmState(t *testing.T) string {
	return strings.Join([]string{
		slurm(t, "sacctmgr", "-n", "-P", "show", "qos"),
		slurm(t, "sacctmgr", "-n", "-P", "show", "assoc"),
		slurm(t, "squeue", "-h", "-a", "-o", "%i|%u|%q|%t|%r"),
	}, "\n----\n")
}

// (1) A healthy cluster: exit 0 as plan and as apply, every finding's line
// ticked, the outputs show the QoS's limits as sacctmgr reads them.
func TestTroubleshootHealthy(t *testing.T) {
	tsPhase2(t)
	q := qosFields(t, "moonlight")
	wantLimits := fmt.Sprintf("GraceTime=%s MaxWall=%s MaxTRESPU=%s Priority=%s", q["GraceTime"], q["MaxWall"], q["MaxTRESPU"], q["Priority"])
	// phase2.hcl's defaults, as sacctmgr prints them: the runbook's expected values.
	if wantLimits != "GraceTime=00:01:00 MaxWall=08:00:00 MaxTRESPU=gres/gpu=2 Priority=100" {
		t.Fatalf("after Phase 2 sacctmgr reads %s", wantLimits)
	}
	before := tsSlurmState(t)

	for _, verb := range []string{"plan", "apply"} {
		off := sshdLogSize(t)
		r := tsRun(t, verb, "--keep-going", "--var", "user=koopark")
		if r.code != 0 {
			t.Fatalf("%s on a healthy cluster exited %d, failed steps %q", verb, r.code, tsFailed(r))
		}
		tsReadOnly(t, r, off)
		out := tsOutputs(t, r)
		limits, _ := out["qos_limits"].(string)
		if !strings.HasPrefix(limits, wantLimits+" ") || !strings.Contains(limits, "`sacctmgr -P show qos moonlight ") {
			t.Errorf("%s: qos_limits = %q, want it to start with %q and name the sacctmgr command", verb, limits, wantLimits)
		}
		if !strings.Contains(r.stdout, "Outputs:") || !strings.Contains(r.stdout, wantLimits) {
			t.Errorf("%s does not print the limits under Outputs", verb)
		}
		enforce := strings.TrimSpace(strings.SplitN(slurm(t, "sh", "-c", "scontrol show config | grep '^AccountingStorageEnforce'"), "=", 2)[1])
		if e, _ := out["enforcement"].(string); !strings.Contains(e, "AccountingStorageEnforce="+enforce+" ") {
			t.Errorf("%s: enforcement = %q, scontrol says %q", verb, e, enforce)
		}
		assoc := strings.TrimSpace(slurm(t, "sacctmgr", "-n", "-P", "show", "assoc", "where", "user=koopark", "format=Account,QOS"))
		acct, qos, _ := strings.Cut(assoc, "|")
		if a, _ := out["associations"].([]any); len(a) != 1 || !strings.HasPrefix(a[0].(string), "account "+acct+": QOS="+qos+" ") {
			t.Errorf("%s: associations = %q, sacctmgr says %s", verb, a, assoc)
		}
		if p, _ := out["pending_jobs"].([]any); len(p) != 0 {
			t.Errorf("%s: pending_jobs = %q with an empty queue", verb, p)
		}
		if g, _ := out["gpu_use"].(string); !strings.HasPrefix(g, "0 GPU(s) in use by koopark under moonlight; the QoS allows gres/gpu=2 ") {
			t.Errorf("%s: gpu_use = %q", verb, g)
		}
		if verb == "apply" {
			if len(r.report.Checklist) != 8 {
				t.Errorf("checklist has %d lines, want 8", len(r.report.Checklist))
			}
			for _, it := range r.report.Checklist {
				if !it.Ticked {
					t.Errorf("line %q not ticked: %s", it.Text, it.Reason)
				}
			}
		}
	}
	if after := tsSlurmState(t); after != before {
		t.Errorf("Slurm changed:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

// (2) A user whose association lacks the QoS: exit 1, the finding names
// the association and the grant; every other finding holds.
func TestTroubleshootUserWithoutGrant(t *testing.T) {
	tsPhase2(t)
	// The test's own change, as Slurm's admin: rbadmin loses the grant
	// Phase 2 gave the account's users.
	slurm(t, "sacctmgr", "-i", "modify", "user", "where", "name=rbadmin", "set", "qos-=moonlight")
	assoc := strings.TrimSpace(slurm(t, "sacctmgr", "-n", "-P", "show", "assoc", "where", "user=rbadmin", "format=Account,QOS"))
	acct, qos, _ := strings.Cut(assoc, "|")
	if acct == "" || slices.Contains(strings.Split(qos, ","), "moonlight") {
		t.Fatalf("rbadmin's association reads %q after qos-=moonlight", assoc)
	}
	before := tsSlurmState(t)

	off := sshdLogSize(t)
	r := tsRun(t, "apply", "--keep-going", "--var", "user=rbadmin")
	if r.code != 1 {
		t.Fatalf("apply for a user without the grant exited %d, want 1", r.code)
	}
	tsReadOnly(t, r, off)
	if f := tsFailed(r); !slices.Equal(f, []string{"user_granted"}) {
		t.Errorf("failed steps %q, want only user_granted", f)
	}
	msg := tsStepError(t, r, "user_granted")
	for _, want := range []string{"rbadmin's association(s) in account(s) " + acct + " do not list moonlight",
		"sacctmgr -P show assoc where user=rbadmin", "Invalid qos specification",
		"sudo sacctmgr -i modify user where name=rbadmin set qos+=moonlight"} {
		if !strings.Contains(msg, want) {
			t.Errorf("user_granted's error lacks %q:\n%s", want, msg)
		}
	}
	out := tsOutputs(t, r)
	if a, _ := out["associations"].([]any); len(a) != 1 || !strings.HasPrefix(a[0].(string), "account "+acct+": QOS="+qos+" ") {
		t.Errorf("associations = %q, sacctmgr says %s", a, assoc)
	}
	for _, it := range r.report.Checklist {
		if wantTicked := it.Step != "user_granted"; it.Ticked != wantTicked {
			t.Errorf("line %q (step %s): ticked %v, want %v", it.Text, it.Step, it.Ticked, wantTicked)
		}
	}

	// A user Slurm does not know at all: the same finding, saying so.
	off = sshdLogSize(t)
	r = tsRun(t, "plan", "--var", "user=rbnosudo")
	if r.code != 1 {
		t.Fatalf("plan for a user without an association exited %d, want 1", r.code)
	}
	tsReadOnly(t, r, off)
	if msg := tsStepError(t, r, "user_granted"); !strings.Contains(msg, "rbnosudo has no association in Slurm") {
		t.Errorf("user_granted's error for rbnosudo: %q", msg)
	}
	if after := tsSlurmState(t); after != before {
		t.Errorf("Slurm changed:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

// (3) koopark holds the QoS's 2 GPUs in two running jobs and a third GPU
// job pends with QOSMaxGRESPerUser: exit 1, naming the two running jobs
// and the scancel that starts the third.
func TestTroubleshootGPUCapReached(t *testing.T) {
	tsPhase2(t)
	var ids []string
	t.Cleanup(func() {
		if len(ids) > 0 {
			if out, err := exec.Command("scancel", ids...).CombinedOutput(); err != nil {
				t.Errorf("scancel %q: %v\n%s", ids, err, out)
			}
		}
	})
	for range 3 {
		out := strings.TrimSpace(slurm(t, "runuser", "-u", "koopark", "--", "sbatch", "--parsable",
			"--job-name=rb-troubleshoot", "--partition=viz", "--qos=moonlight", "--gres=gpu:1",
			"--time=00:10:00", "--output=/dev/null", "--wrap=exec sleep 600"))
		ids = append(ids, out)
	}
	// Slurm decides: wait until two run and one pends for the GPU cap.
	var running, pending []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		running, pending = nil, nil
		for _, l := range strings.Split(strings.TrimSpace(slurm(t, "squeue", "-h", "-j", strings.Join(ids, ","), "-o", "%i|%t|%r")), "\n") {
			f := strings.Split(l, "|")
			switch {
			case len(f) == 3 && f[1] == "R":
				running = append(running, f[0])
			case len(f) == 3 && f[1] == "PD" && f[2] == "QOSMaxGRESPerUser":
				pending = append(pending, f[0])
			}
		}
		if len(running) == 2 && len(pending) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs %q: running %q, pending with QOSMaxGRESPerUser %q after 30s", ids, running, pending)
		}
		time.Sleep(300 * time.Millisecond)
	}
	slices.Sort(running)
	before := tsSlurmState(t)

	off := sshdLogSize(t)
	r := tsRun(t, "apply", "--keep-going", "--var", "user=koopark", "--var", "job_id="+pending[0])
	if r.code != 1 {
		t.Fatalf("apply with a job pending for the GPU cap exited %d, want 1", r.code)
	}
	tsReadOnly(t, r, off)
	if f := tsFailed(r); !slices.Equal(f, []string{"no_stuck_jobs"}) {
		t.Errorf("failed steps %q, want only no_stuck_jobs", f)
	}
	scancels := fmt.Sprintf("`scancel %s` or `scancel %s`", running[0], running[1])
	want := "job " + pending[0] + " pending (QOSMaxGRESPerUser): "
	msg := tsStepError(t, r, "no_stuck_jobs")
	if !strings.Contains(msg, want) || !strings.Contains(msg, "end one of them: "+scancels) {
		t.Errorf("no_stuck_jobs's error does not name job %s and %s:\n%s", pending[0], scancels, msg)
	}

	out := tsOutputs(t, r)
	p, _ := out["pending_jobs"].([]any)
	if len(p) != 1 || !strings.HasPrefix(p[0].(string), want) || !strings.Contains(p[0].(string), scancels) {
		t.Errorf("pending_jobs = %q, want job %s explained with %s", p, pending[0], scancels)
	}
	g, _ := out["gpu_jobs"].(map[string]any)
	if got := slices.Sorted(maps.Keys(g)); !slices.Equal(got, running) || g[running[0]] != 1.0 || g[running[1]] != 1.0 {
		t.Errorf("gpu_jobs = %v, want {%s: 1, %s: 1}", g, running[0], running[1])
	}
	if u, _ := out["gpu_use"].(string); !strings.HasPrefix(u, "2 GPU(s) in use by koopark under moonlight; the QoS allows gres/gpu=2 ") {
		t.Errorf("gpu_use = %q", u)
	}
	if j, _ := out["job"].(string); !strings.HasPrefix(j, "job "+pending[0]+" of koopark under QoS moonlight, state PD, pending (QOSMaxGRESPerUser): ") {
		t.Errorf("job = %q", j)
	}
	if after := tsSlurmState(t); after != before {
		t.Errorf("Slurm changed:\n--- before\n%s\n--- after\n%s", before, after)
	}
}
