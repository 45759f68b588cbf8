//go:build e2e

// End-to-end tests of the language of issue 17 on the real testbed:
// for_each over QoS (sacctmgr, run directly on this machine, the
// controller, is the oracle), handlers restarting a daemon (the daemon's
// own start log and /proc are the oracle), outputs and --show-reads
// (sacctmgr again), become_user (`id -un` run through sudo -u).
// The runbooks are in testdata/language/.
//
//	flock /tmp/testbed-e2e.flock bash -c 'set -a; . /tmp/runbook-testbed/env; set +a; go test -tags e2e -run TestLanguage ./runbooks/ -count=1'
package runbooks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// langReport is the part of report.json these tests read.
type langReport struct {
	ID     string `json:"id"`
	Mode   string `json:"mode"`
	Result string `json:"result"`
	Hosts  []struct {
		Name  string `json:"name"`
		Steps []struct {
			Name           string   `json:"name"`
			Status         string   `json:"status"`
			Summary        string   `json:"summary"`
			Error          string   `json:"error"`
			Changed        bool     `json:"changed"`
			NotifiedBy     []string `json:"notified_by"`
			HandlerPending bool     `json:"handler_pending"`
			Checklist      []string `json:"checklist"`
			Commands       []struct {
				Command  string `json:"command"`
				Become   bool   `json:"become"`
				ExitCode int    `json:"exit_code"`
				Stdout   string `json:"stdout"`
			} `json:"commands"`
		} `json:"steps"`
		Outputs []struct {
			Name      string          `json:"name"`
			Value     json.RawMessage `json:"value"`
			Sensitive bool            `json:"sensitive"`
			Unknown   bool            `json:"unknown"`
			Error     string          `json:"error"`
		} `json:"outputs"`
	} `json:"hosts"`
	Checklist []struct {
		Text     string   `json:"text"`
		Step     string   `json:"step"`
		Ticked   bool     `json:"ticked"`
		Evidence []string `json:"evidence"`
		Reason   string   `json:"reason"`
	} `json:"checklist"`
}

type langResult struct {
	code           int
	stdout, stderr string
	report         langReport // of the run this call made (plan or apply)
	md             string     // its checklist.md
}

// langRun runs `runbook VERB runbooks/testdata/language/FILE` with the
// testbed's inventory and the given state directory (a test that resumes
// a run needs the state of the run it resumes), and loads the record of
// the run it made: the one run directory that was not there before.
func langRun(t *testing.T, state, verb, file string, args ...string) langResult {
	t.Helper()
	before, _ := filepath.Glob(filepath.Join(state, "runs", "*"))
	argv := append([]string{verb, filepath.Join(repoRoot, "runbooks", "testdata", "language", file),
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
	t.Logf("runbook %s %s %q → exit %d\n%s%s", verb, file, args, r.code, r.stdout, r.stderr)
	after, _ := filepath.Glob(filepath.Join(state, "runs", "*"))
	var made []string
	for _, d := range after {
		if !slices.Contains(before, d) {
			made = append(made, d)
		}
	}
	if len(made) != 1 {
		if r.code == exitInvalidInput {
			return r
		}
		t.Fatalf("want one new run record in %s, found %v", state, made)
	}
	js, err := os.ReadFile(filepath.Join(made[0], "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &r.report); err != nil {
		t.Fatal(err)
	}
	if md, err := os.ReadFile(filepath.Join(made[0], "checklist.md")); err == nil {
		r.md = string(md)
	}
	return r
}

// statuses returns every step's status by its address (one host).
func (r langResult) statuses(t *testing.T) map[string]string {
	t.Helper()
	if len(r.report.Hosts) != 1 {
		t.Fatalf("want one host in the report, got %d", len(r.report.Hosts))
	}
	m := map[string]string{}
	for _, s := range r.report.Hosts[0].Steps {
		m[s.Name] = s.Status
	}
	return m
}

func wantStatuses(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: step %s is %q, want %q", what, k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected step %s (%s)", what, k, got[k])
		}
	}
}

// ------------------------------------------------------------ for_each

var langQoS = []string{"rbtl-a", "rbtl-b", "rbtl-c"}

// langDeleteQoS deletes the test's QoS as the Slurm admin (root), whatever
// a failed run left. testbed/reset would delete them too, with much else.
func langDeleteQoS(t *testing.T, names ...string) {
	t.Helper()
	var present []string
	for _, n := range names {
		if strings.TrimSpace(slurm(t, "sacctmgr", "-n", "-P", "show", "qos", n, "format=Name")) == n {
			present = append(present, n)
		}
	}
	if len(present) > 0 {
		slurm(t, "sacctmgr", "-i", "delete", "qos", strings.Join(present, ","))
	}
}

// Three QoS from one map: the plan shows each instance, apply makes them
// (sacctmgr agrees) and ticks one checklist line per instance, a second
// apply and plan change nothing, and a key removed from the map drops its
// instances from the plan and the run while the QoS stays in Slurm (the
// kinds have no delete).
func TestLanguageForEachQoS(t *testing.T) {
	testbed(t, "up")
	langDeleteQoS(t, langQoS...)
	t.Cleanup(func() { langDeleteQoS(t, langQoS...) })
	state := t.TempDir()
	keys := []string{"a", "b", "c"}
	prio := map[string]string{"a": "11", "b": "22", "c": "33"}
	wall := map[string]string{"a": "01:00:00", "b": "02:00:00", "c": "03:00:00"}

	p := langRun(t, state, "plan", "qos.hcl", "--detailed-exitcode")
	if p.code != 2 {
		t.Fatalf("fresh plan exited %d, want 2 (changes pending)", p.code)
	}
	for _, k := range keys {
		for _, re := range []string{
			`(?m)^\s+\+ qos\["` + k + `"\]\s+create qos rbtl-` + k + `$`,
			`(?m)^\s+~ limits\["` + k + `"\]\s+modify qos rbtl-` + k + ` \(once created\)`,
			`(?m)^\s+Priority: 0 → ` + prio[k] + `$`,
		} {
			if !regexp.MustCompile(re).MatchString(p.stdout) {
				t.Errorf("fresh plan lacks %s", re)
			}
		}
	}

	a := langRun(t, state, "apply", "qos.hcl")
	if a.code != 0 || a.report.Result != "success" {
		t.Fatalf("apply exited %d (%s), want 0", a.code, a.report.Result)
	}
	want := map[string]string{}
	for _, k := range keys {
		want[`qos["`+k+`"]`] = "changed"
		want[`limits["`+k+`"]`] = "changed"
	}
	wantStatuses(t, "first apply", a.statuses(t), want)
	for _, k := range keys {
		f := qosFields(t, "rbtl-"+k)
		if f["Priority"] != prio[k] || f["MaxWall"] != wall[k] {
			t.Errorf("sacctmgr: rbtl-%s has Priority %q MaxWall %q, want %s %s", k, f["Priority"], f["MaxWall"], prio[k], wall[k])
		}
	}
	// One checklist line per instance, each on its instance's evidence.
	wantLines := map[string]string{}
	for _, k := range keys {
		wantLines[`qos["`+k+`"]`] = "QoS rbtl-" + k + " exists"
		wantLines[`limits["`+k+`"]`] = fmt.Sprintf("QoS rbtl-%s has Priority %s and MaxWall %s", k, prio[k], strings.TrimPrefix(wall[k], "0"))
	}
	if len(a.report.Checklist) != len(wantLines) {
		t.Errorf("checklist has %d lines, want %d", len(a.report.Checklist), len(wantLines))
	}
	for _, it := range a.report.Checklist {
		if wantLines[it.Step] != it.Text {
			t.Errorf("checklist line %q of step %s, want %q", it.Text, it.Step, wantLines[it.Step])
		}
		if !it.Ticked || len(it.Evidence) == 0 {
			t.Errorf("checklist line %q: ticked %v with %d evidence lines (%s)", it.Text, it.Ticked, len(it.Evidence), it.Reason)
		}
		// Evidence of rbtl-a's line is about rbtl-a, not another instance.
		name := "rbtl-" + it.Step[len(it.Step)-3:len(it.Step)-2]
		if ev := strings.Join(it.Evidence, "\n"); !strings.Contains(ev, "qos "+name) {
			t.Errorf("checklist line %q: evidence does not name qos %s:\n%s", it.Text, name, ev)
		}
	}
	for _, l := range wantLines {
		if !strings.Contains(a.md, "- [x] "+l+"\n") {
			t.Errorf("checklist.md lacks the ticked line %q:\n%s", l, a.md)
		}
	}

	// Second apply: nothing changes, no sacctmgr change reaches the host.
	off := sshdLogSize(t)
	a2 := langRun(t, state, "apply", "qos.hcl")
	for k := range want {
		want[k] = "unchanged"
	}
	wantStatuses(t, "second apply", a2.statuses(t), want)
	if m := mutatingSince(t, off); len(m) > 0 {
		t.Errorf("second apply ran changes: %q", m)
	}
	if p := langRun(t, state, "plan", "qos.hcl", "--detailed-exitcode"); p.code != 0 {
		t.Errorf("plan after the second apply exited %d, want 0 (nothing to do)", p.code)
	}

	// Key b removed: its instances are gone from plan and apply; runbook
	// leaves the QoS it made.
	withoutB := []string{"--var", `qos={a={priority=11,max_wall="1:00:00"},c={priority=33,max_wall="3:00:00"}}`}
	p = langRun(t, state, "plan", "qos.hcl", append(withoutB, "--detailed-exitcode")...)
	if p.code != 0 {
		t.Errorf("plan without key b exited %d, want 0 (nothing to do)", p.code)
	}
	if strings.Contains(p.stdout, `["b"]`) || strings.Contains(p.stdout, "rbtl-b") {
		t.Errorf("plan without key b still mentions it:\n%s", p.stdout)
	}
	if !strings.Contains(p.stdout, "Plan: 0 to create, 0 to modify, 0 to run, 0 known after apply, 4 unchanged.") {
		t.Errorf("plan without key b: want the four other instances unchanged:\n%s", p.stdout)
	}
	off = sshdLogSize(t)
	a3 := langRun(t, state, "apply", "qos.hcl", withoutB...)
	delete(want, `qos["b"]`)
	delete(want, `limits["b"]`)
	wantStatuses(t, "apply without key b", a3.statuses(t), want)
	if m := mutatingSince(t, off); len(m) > 0 {
		t.Errorf("apply without key b ran changes: %q", m)
	}
	for _, c := range commandsSince(t, off) {
		if strings.Contains(c, "rbtl-b") {
			t.Errorf("apply without key b ran a command on rbtl-b: %s", c)
		}
	}
	if f := qosFields(t, "rbtl-b"); f["Priority"] != "22" || f["MaxWall"] != "02:00:00" {
		t.Errorf("sacctmgr: rbtl-b after its key was removed: %v, want it left as it was (Priority 22, MaxWall 02:00:00)", f)
	}
}
