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
	"strconv"
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
	// leaves the QoS it made, and the plan says so.
	withoutB := []string{"--var", `qos={a={priority=11,max_wall="1:00:00"},c={priority=33,max_wall="3:00:00"}}`}
	p = langRun(t, state, "plan", "qos.hcl", append(withoutB, "--detailed-exitcode")...)
	if p.code != 0 {
		t.Errorf("plan without key b exited %d, want 0 (nothing to do)", p.code)
	}
	planPart, leftPart, _ := strings.Cut(p.stdout, "Left as they are")
	if strings.Contains(planPart, `["b"]`) || strings.Contains(planPart, "rbtl-b") {
		t.Errorf("plan without key b still plans it:\n%s", p.stdout)
	}
	for _, inst := range []string{`qos["b"] on ctl1 (create`, `limits["b"] on ctl1 (modify`} {
		if !strings.Contains(leftPart, inst) || !strings.Contains(leftPart, "its key is no longer in step.") {
			t.Errorf("plan without key b does not say %s is left as it is:\n%s", inst, p.stdout)
		}
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

// ------------------------------------------------------------ handlers

// langDaemon is the handler tests' daemon on the testbed host (this
// machine): testdata/language/restart.sh in a directory koopark owns. Each
// start of the daemon appends "PID generation=N" to starts.log itself.
type langDaemon struct{ dir string }

func langStartDaemon(t *testing.T) langDaemon {
	t.Helper()
	d := langDaemon{dir: filesWorkDir(t, "koopark")}
	script, err := os.ReadFile(filepath.Join(repoRoot, "runbooks", "testdata", "language", "restart.sh"))
	if err != nil {
		t.Fatal(err)
	}
	filesSeed(t, filepath.Join(d.dir, "restart.sh"), string(script), "koopark")
	// Ended before filesWorkDir removes the directory (cleanups run last
	// first): every PID the daemon ever logged.
	t.Cleanup(func() {
		for _, l := range d.starts(t) {
			if pid, err := strconv.Atoi(strings.Fields(l)[0]); err == nil && langAlive(pid) {
				exec.Command("kill", strconv.Itoa(pid)).Run()
			}
		}
	})
	// Started as koopark, the login user of host ctl1, so that the
	// handler (run as koopark over ssh) may stop it.
	if out, err := exec.Command("runuser", "-u", "koopark", "--", "sh", filepath.Join(d.dir, "restart.sh"), d.dir).CombinedOutput(); err != nil {
		t.Fatalf("starting the daemon: %v\n%s", err, out)
	}
	if n := len(d.starts(t)); n != 1 || !langAlive(d.pid(t)) {
		t.Fatalf("daemon: %d starts logged, pid %d alive %v", n, d.pid(t), langAlive(d.pid(t)))
	}
	return d
}

// starts is the daemon's own log, one line per start.
func (d langDaemon) starts(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join(d.dir, "starts.log"))
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func (d langDaemon) pid(t *testing.T) int {
	b, err := os.ReadFile(filepath.Join(d.dir, "daemon.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// wantRestarts checks the daemon started exactly n times in all, the last
// time with config generation gen (0: no config yet), and that only the
// newest PID lives.
func (d langDaemon) wantRestarts(t *testing.T, what string, n, gen int) {
	t.Helper()
	starts := d.starts(t)
	if len(starts) != n {
		t.Errorf("%s: the daemon logged %d starts, want %d: %q", what, len(starts), n, starts)
		return
	}
	last := strings.Fields(starts[n-1])
	want := fmt.Sprintf("generation=%d", gen)
	if gen == 0 {
		want = "generation=none"
	}
	if len(last) != 2 || last[1] != want {
		t.Errorf("%s: the daemon's last start read %q, want %s (it must start after both config files changed)", what, starts[n-1], want)
	}
	pid := d.pid(t)
	if last[0] != strconv.Itoa(pid) || !langAlive(pid) {
		t.Errorf("%s: pidfile %d, last logged start %s, alive %v", what, pid, last[0], langAlive(pid))
	}
	for _, l := range starts[:n-1] {
		if old, _ := strconv.Atoi(strings.Fields(l)[0]); langAlive(old) {
			t.Errorf("%s: an earlier daemon, pid %d, still runs", what, old)
		}
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) != "sleep" {
		t.Errorf("%s: pid %d is %q, not the daemon", what, pid, comm)
	}
}

// langAlive: the process exists and is not a zombie (orphans here may be
// reparented to a PID 1 that does not reap them).
func langAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// langStep returns one step of a one-host report.
func (r langResult) step(t *testing.T, name string) (status string, notifiedBy []string, pending bool, commands []string) {
	t.Helper()
	for _, h := range r.report.Hosts {
		for _, s := range h.Steps {
			if s.Name == name {
				for _, c := range s.Commands {
					commands = append(commands, c.Command)
				}
				return s.Status, s.NotifiedBy, s.HandlerPending, commands
			}
		}
	}
	t.Fatalf("no step %q in the report", name)
	return
}

func restartsSince(t *testing.T, off int64) int {
	n := 0
	for _, c := range commandsSince(t, off) {
		if strings.Contains(c, "restart.sh") {
			n++
		}
	}
	return n
}

// Two config files change in one apply, both notify the handler: it
// restarts the daemon once, after both (the new daemon read the new
// config). An apply with nothing changed leaves the daemon alone.
func TestLanguageHandlerRestartsDaemonOnce(t *testing.T) {
	testbed(t, "up")
	d := langStartDaemon(t)
	state := t.TempDir()
	vars := []string{"--var", "dir=" + d.dir, "--var", "generation=1"}

	p := langRun(t, state, "plan", "handler.hcl", vars...)
	if !regexp.MustCompile(`(?m)^\s+> restart\s+will run: .*\(handler, notified by step\.main_conf, step\.extra_conf\)$`).MatchString(p.stdout) {
		t.Errorf("plan does not show the handler notified by both config steps:\n%s", p.stdout)
	}
	d.wantRestarts(t, "after plan", 1, 0)

	off := sshdLogSize(t)
	a := langRun(t, state, "apply", "handler.hcl", vars...)
	if a.code != 0 {
		t.Fatalf("apply exited %d, want 0", a.code)
	}
	wantStatuses(t, "apply", a.statuses(t), map[string]string{
		"main_conf": "changed", "extra_conf": "changed", "gate": "unchanged", "restart": "changed",
	})
	_, by, pending, cmds := a.step(t, "restart")
	if !slices.Equal(by, []string{"step.main_conf", "step.extra_conf"}) || pending || len(cmds) != 1 {
		t.Errorf("handler: notified_by %q, pending %v, commands %q; want both config steps, not pending, one command", by, pending, cmds)
	}
	if n := restartsSince(t, off); n != 1 {
		t.Errorf("sshd ran restart.sh %d times in the apply, want 1", n)
	}
	d.wantRestarts(t, "after the apply", 2, 1)
	pid := d.pid(t)

	off = sshdLogSize(t)
	a = langRun(t, state, "apply", "handler.hcl", vars...)
	wantStatuses(t, "second apply", a.statuses(t), map[string]string{
		"main_conf": "unchanged", "extra_conf": "unchanged", "gate": "unchanged", "restart": "skipped",
	})
	if n := restartsSince(t, off); n != 0 {
		t.Errorf("sshd ran restart.sh %d times in the second apply, want 0", n)
	}
	d.wantRestarts(t, "after the second apply", 2, 1)
	if d.pid(t) != pid {
		t.Errorf("the second apply changed the daemon's pid %d → %d", pid, d.pid(t))
	}
	if p := langRun(t, state, "plan", "handler.hcl", append(vars, "--detailed-exitcode")...); p.code != 0 {
		t.Errorf("plan after the second apply exited %d, want 0", p.code)
	}
}

// A step after the notifiers fails: the handler stays pending in the
// record, with who notified it, and the daemon keeps running. --resume of
// that run, with the cause gone, restarts it once; an apply after that
// does not again. --force-handlers restarts it in the failing run itself.
func TestLanguageHandlerPendingAfterFailure(t *testing.T) {
	testbed(t, "up")
	d := langStartDaemon(t)
	state := t.TempDir()
	dir := []string{"--var", "dir=" + d.dir}
	fail := filepath.Join(d.dir, "fail")

	if a := langRun(t, state, "apply", "handler.hcl", append(dir, "--var", "generation=1")...); a.code != 0 {
		t.Fatalf("first apply exited %d", a.code)
	}
	d.wantRestarts(t, "first apply", 2, 1)
	pid := d.pid(t)

	// generation 2 with the gate failing.
	if err := os.WriteFile(fail, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	gen2 := append(dir, "--var", "generation=2")
	a := langRun(t, state, "apply", "handler.hcl", gen2...)
	if a.code != 1 || a.report.Result != "failed" {
		t.Fatalf("apply with the gate failing exited %d (%s), want 1 (failed)", a.code, a.report.Result)
	}
	wantStatuses(t, "failing apply", a.statuses(t), map[string]string{
		"main_conf": "changed", "extra_conf": "changed", "gate": "failed", "restart": "not_run",
	})
	_, by, pending, cmds := a.step(t, "restart")
	if !pending || !slices.Equal(by, []string{"step.main_conf", "step.extra_conf"}) || len(cmds) != 0 {
		t.Errorf("handler after the failure: handler_pending %v, notified_by %q, commands %q; want pending, both config steps, none run", pending, by, cmds)
	}
	if !strings.Contains(a.stderr+a.stdout, "handler restart on ctl1 is pending") {
		t.Errorf("the failing apply does not say the handler is pending")
	}
	d.wantRestarts(t, "failing apply", 2, 1)
	if d.pid(t) != pid {
		t.Errorf("the failing apply restarted the daemon: pid %d → %d", pid, d.pid(t))
	}
	failedRun := a.report.ID

	// The cause fixed, --resume runs the pending handler, once.
	if err := os.Remove(fail); err != nil {
		t.Fatal(err)
	}
	off := sshdLogSize(t)
	r := langRun(t, state, "apply", "handler.hcl", append(gen2, "--resume", failedRun)...)
	if r.code != 0 {
		t.Fatalf("apply --resume exited %d, want 0", r.code)
	}
	wantStatuses(t, "resumed apply", r.statuses(t), map[string]string{
		"main_conf": "unchanged", "extra_conf": "unchanged", "gate": "unchanged", "restart": "changed",
	})
	if _, _, pending, _ := r.step(t, "restart"); pending {
		t.Errorf("handler still pending after --resume ran it")
	}
	if n := restartsSince(t, off); n != 1 {
		t.Errorf("sshd ran restart.sh %d times in the resumed apply, want 1", n)
	}
	d.wantRestarts(t, "resumed apply", 3, 2)
	pid = d.pid(t)

	// Nothing pending any more: a plain apply leaves the daemon alone.
	a = langRun(t, state, "apply", "handler.hcl", gen2...)
	if st, _, _, _ := a.step(t, "restart"); st != "skipped" {
		t.Errorf("apply after the resume: handler %s, want skipped", st)
	}
	d.wantRestarts(t, "apply after the resume", 3, 2)
	if d.pid(t) != pid {
		t.Errorf("apply after the resume restarted the daemon: pid %d → %d", pid, d.pid(t))
	}

	// --force-handlers: generation 3 with the gate failing again.
	if err := os.WriteFile(fail, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	off = sshdLogSize(t)
	a = langRun(t, state, "apply", "handler.hcl", append(dir, "--var", "generation=3", "--force-handlers")...)
	if a.code != 1 || a.report.Result != "failed" {
		t.Errorf("apply --force-handlers with the gate failing exited %d (%s), want 1 (failed)", a.code, a.report.Result)
	}
	wantStatuses(t, "apply --force-handlers", a.statuses(t), map[string]string{
		"main_conf": "changed", "extra_conf": "changed", "gate": "failed", "restart": "changed",
	})
	if _, by, pending, _ := a.step(t, "restart"); pending || !slices.Equal(by, []string{"step.main_conf", "step.extra_conf"}) {
		t.Errorf("handler with --force-handlers: pending %v, notified_by %q", pending, by)
	}
	if n := restartsSince(t, off); n != 1 {
		t.Errorf("sshd ran restart.sh %d times with --force-handlers, want 1", n)
	}
	d.wantRestarts(t, "apply --force-handlers", 4, 3)
}

// ------------------------------------------------------------ outputs

// langQoSRows are the QoS sacctmgr lists, [Name, Priority] each, read as
// root on the controller: the oracle of outputs.hcl.
func langQoSRows(t *testing.T) [][]string {
	t.Helper()
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(slurm(t, "sacctmgr", "-n", "-P", "show", "qos", "format=Name,Priority")), "\n") {
		rows = append(rows, strings.Split(l, "|"))
	}
	return rows
}

// A read-only runbook shows its answer: the output is printed after the
// plan and kept in the plan's record; --show-reads prints the check's rows.
func TestLanguageOutputsShowReads(t *testing.T) {
	testbed(t, "up")
	// A second QoS besides normal, so the list is a list.
	langDeleteQoS(t, "rbtl-out")
	t.Cleanup(func() { langDeleteQoS(t, "rbtl-out") })
	slurm(t, "sacctmgr", "-i", "add", "qos", "rbtl-out", "Priority=7")
	rows := langQoSRows(t)
	var names []string
	for _, r := range rows {
		names = append(names, r[0])
	}
	if !slices.Contains(names, "rbtl-out") || len(names) < 2 {
		t.Fatalf("sacctmgr lists %q", names)
	}
	state := t.TempDir()

	p := langRun(t, state, "plan", "outputs.hcl")
	if p.code != 0 {
		t.Fatalf("plan exited %d", p.code)
	}
	quoted, _ := json.Marshal(names) // ["normal","rbtl-out"]
	printed := "qos_names = " + strings.ReplaceAll(string(quoted), `","`, `", "`)
	if !regexp.MustCompile(`(?m)^Outputs:\n\n  ctl1\n    ` + regexp.QuoteMeta(printed) + `$`).MatchString(p.stdout) {
		t.Errorf("plan does not print %q under Outputs:\n%s", printed, p.stdout)
	}
	if strings.Contains(p.stdout, "Reads:") {
		t.Errorf("plan without --show-reads prints the reads:\n%s", p.stdout)
	}
	if p.report.Mode != "plan" || len(p.report.Hosts) != 1 || len(p.report.Hosts[0].Outputs) != 1 {
		t.Fatalf("plan record: mode %q, hosts %d; want one host with one output", p.report.Mode, len(p.report.Hosts))
	}
	o := p.report.Hosts[0].Outputs[0]
	var got []string
	if err := json.Unmarshal(o.Value, &got); err != nil || o.Name != "qos_names" || !slices.Equal(got, names) {
		t.Errorf("report.json output %s = %s (%v), want %q", o.Name, o.Value, err, names)
	}

	p = langRun(t, state, "plan", "outputs.hcl", "--show-reads")
	if !strings.Contains(p.stdout, "Reads:\n\n  ctl1\n    step.qos_list:\n") {
		t.Errorf("--show-reads does not print step.qos_list's reads:\n%s", p.stdout)
	}
	for _, r := range rows {
		re := `Name\s+= "` + regexp.QuoteMeta(r[0]) + `"\n\s+Priority\s+= "` + regexp.QuoteMeta(r[1]) + `"`
		if !regexp.MustCompile(re).MatchString(p.stdout) {
			t.Errorf("--show-reads lacks the row %s|%s sacctmgr lists", r[0], r[1])
		}
	}
	if !strings.Contains(p.stdout, printed) {
		t.Errorf("plan --show-reads no longer prints the output %q", printed)
	}
}

// The issue: outputs are "kept in report.json (and --json)". The plan
// document of `plan --json` (hosts[].outputs) and the run_finished event
// of `apply --json` (outputs by host) carry them, with sacctmgr's list as
// the value, else a read-only runbook driven by a script has no answer.
func TestLanguageOutputsInJSON(t *testing.T) {
	testbed(t, "up")
	var names []string
	for _, r := range langQoSRows(t) {
		names = append(names, r[0])
	}
	state := t.TempDir()
	type output struct {
		Name  string   `json:"name"`
		Value []string `json:"value"`
	}
	wantOutput := func(what string, outs []output) {
		t.Helper()
		if len(outs) != 1 || outs[0].Name != "qos_names" || !slices.Equal(outs[0].Value, names) {
			t.Errorf("%s: outputs %+v, want qos_names = %q", what, outs, names)
		}
	}

	p := langRun(t, state, "plan", "outputs.hcl", "--json")
	if p.code != 0 {
		t.Fatalf("plan --json exited %d", p.code)
	}
	var doc struct {
		Hosts []struct {
			Name    string   `json:"name"`
			Outputs []output `json:"outputs"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(p.stdout), &doc); err != nil || len(doc.Hosts) != 1 {
		t.Fatalf("plan --json: %v, %d hosts", err, len(doc.Hosts))
	}
	wantOutput("plan --json", doc.Hosts[0].Outputs)

	a := langRun(t, state, "apply", "outputs.hcl", "--json")
	if a.code != 0 {
		t.Fatalf("apply --json exited %d", a.code)
	}
	found := false
	for _, l := range strings.Split(strings.TrimSpace(a.stdout), "\n") {
		var ev struct {
			Type    string              `json:"type"`
			Outputs map[string][]output `json:"outputs"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("event %q: %v", l, err)
		}
		if ev.Type == "run_finished" {
			found = true
			wantOutput("apply --json run_finished", ev.Outputs["ctl1"])
		}
	}
	if !found {
		t.Errorf("apply --json has no run_finished event")
	}
	var fromReport []output
	for _, o := range a.report.Hosts[0].Outputs {
		var v []string
		if err := json.Unmarshal(o.Value, &v); err != nil {
			t.Errorf("report.json output %s: %v", o.Name, err)
		}
		fromReport = append(fromReport, output{Name: o.Name, Value: v})
	}
	wantOutput("apply report.json", fromReport)
}

// ------------------------------------------------------------ become_user

// As rbadmin (sudo with a password), a step with become_user = "koopark"
// runs as koopark: `id -un` says so, and the step's command went through
// sudo -u; the step without it runs as the login user.
func TestLanguageBecomeUser(t *testing.T) {
	if os.Getenv("TESTBED_RBADMIN_SUDO_PASSWORD") == "" {
		t.Fatal("TESTBED_RBADMIN_SUDO_PASSWORD is not set: source the testbed's env file (set -a; . /tmp/runbook-testbed/env; set +a)")
	}
	testbed(t, "up")
	a := langRun(t, t.TempDir(), "apply", "become_user.hcl")
	if a.code != 0 {
		t.Fatalf("apply exited %d", a.code)
	}
	if len(a.report.Hosts) != 1 || a.report.Hosts[0].Name != "ctl1-rbadmin" {
		t.Fatalf("want host ctl1-rbadmin only, got %d hosts", len(a.report.Hosts))
	}
	for _, s := range a.report.Hosts[0].Steps {
		if len(s.Commands) != 1 {
			t.Errorf("step %s ran %d commands, want 1", s.Name, len(s.Commands))
			continue
		}
		c := s.Commands[0]
		switch s.Name {
		case "whoami":
			if c.Stdout != "koopark\n" || !c.Become || !strings.HasPrefix(c.Command, "sudo -u koopark ") {
				t.Errorf("become_user step: %q become %v printed %q, want sudo -u koopark … printing koopark", c.Command, c.Become, c.Stdout)
			}
		case "login_user":
			if c.Stdout != "rbadmin\n" || c.Become {
				t.Errorf("plain step: %q become %v printed %q, want rbadmin without sudo", c.Command, c.Become, c.Stdout)
			}
		}
	}
	if !regexp.MustCompile(`(?m)^\s+ran_as\s+= "koopark"$`).MatchString(a.stdout + a.stderr) {
		t.Errorf("apply does not print the output ran_as = \"koopark\"")
	}
}

// A failed run resumed twice: the first --resume runs the pending
// handler; a second --resume of the same failed run must not restart the
// daemon again (it ran). The engine refuses it: a run already resumed is
// resumed through its resume (resume_of).
func TestLanguageHandlerResumedTwiceRunsOnce(t *testing.T) {
	testbed(t, "up")
	d := langStartDaemon(t)
	state := t.TempDir()
	vars := []string{"--var", "dir=" + d.dir}
	fail := filepath.Join(d.dir, "fail")
	if err := os.WriteFile(fail, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a := langRun(t, state, "apply", "handler.hcl", vars...)
	if _, _, pending, _ := a.step(t, "restart"); a.code != 1 || !pending {
		t.Fatalf("apply with the gate failing: exit %d, handler pending %v; want 1 and pending", a.code, pending)
	}
	if err := os.Remove(fail); err != nil {
		t.Fatal(err)
	}
	if r := langRun(t, state, "apply", "handler.hcl", append(vars, "--resume", a.report.ID)...); r.code != 0 {
		t.Fatalf("first --resume exited %d", r.code)
	}
	d.wantRestarts(t, "first --resume", 2, 1)
	pid := d.pid(t)

	r := langRun(t, state, "apply", "handler.hcl", append(vars, "--resume", a.report.ID)...)
	if r.code != 3 || !strings.Contains(r.stderr, "already resumed it") {
		t.Errorf("second --resume of run %s: exit %d, want 3 saying it was already resumed\n%s", a.report.ID, r.code, r.stderr)
	}
	d.wantRestarts(t, "second --resume", 2, 1)
	if d.pid(t) != pid {
		t.Errorf("second --resume restarted the daemon again: pid %d → %d", pid, d.pid(t))
	}
}
