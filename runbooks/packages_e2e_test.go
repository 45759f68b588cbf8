//go:build e2e

// End-to-end tests of the package and service kinds on the testbed's real
// sshd, as rbadmin with sudo (a password): the "remote" host is this
// Debian 12 machine, so the tests check what runbook did with dpkg-query,
// the init script's pid file and /proc directly. They install a small
// package from the Debian archive (hello, ~50 kB) and cron (~90 kB,
// without its recommended MTA), and remove both again.
//
//	flock /tmp/testbed-e2e.flock bash -c 'set -a; . /tmp/runbook-testbed/env; set +a; go test -count=1 -tags e2e -run "TestPackageE2E|TestServiceE2E" ./runbooks/'
package runbooks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pkgE2EReport is the part of report.json these tests read.
type pkgE2EReport struct {
	Result string `json:"result"`
	Hosts  []struct {
		Steps []struct {
			Name     string   `json:"name"`
			Status   string   `json:"status"`
			Summary  string   `json:"summary"`
			Error    string   `json:"error"`
			Hint     string   `json:"hint"`
			Notes    []string `json:"notes"`
			Commands []struct {
				Command  string `json:"command"`
				Become   bool   `json:"become"`
				ExitCode int    `json:"exit_code"`
			} `json:"commands"`
		} `json:"steps"`
	} `json:"hosts"`
	Checklist []struct {
		Text     string   `json:"text"`
		Ticked   bool     `json:"ticked"`
		Evidence []string `json:"evidence"`
		Reason   string   `json:"reason"`
	} `json:"checklist"`
}

type pkgE2EResult struct {
	code   int
	stdout string
	report pkgE2EReport
}

// pkgE2ERun runs `runbook VERB testdata/packages/FILE`; plans run with
// --detailed-exitcode (2: changes pending, 0: nothing to do), applies
// load their report.
func pkgE2ERun(t *testing.T, verb, file string, args ...string) pkgE2EResult {
	t.Helper()
	if os.Getenv("TESTBED_RBADMIN_SUDO_PASSWORD") == "" {
		t.Fatal("TESTBED_RBADMIN_SUDO_PASSWORD is not set: source the testbed's env file (set -a; . /tmp/runbook-testbed/env; set +a)")
	}
	state := t.TempDir()
	argv := append([]string{verb, filepath.Join(repoRoot, "runbooks", "testdata", "packages", file), "-i", inventory, "--state-dir", state}, args...)
	if verb == "apply" {
		argv = append(argv, "--auto-approve")
	} else {
		argv = append(argv, "--detailed-exitcode")
	}
	cmd := exec.Command(runbookBin, argv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := pkgE2EResult{stdout: stdout.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("runbook %s %s %v → exit %d in %s\n%s%s", verb, file, args, r.code, time.Since(start).Round(10*time.Millisecond), r.stdout, stderr.String())
	if verb != "apply" {
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
	return r
}

type pkgE2EStep struct {
	status, summary, errText, hint string
	notes, commands                []string
}

func (r pkgE2EResult) step(t *testing.T, name string) pkgE2EStep {
	t.Helper()
	for _, h := range r.report.Hosts {
		for _, s := range h.Steps {
			if s.Name == name {
				out := pkgE2EStep{status: s.Status, summary: s.Summary, errText: s.Error, hint: s.Hint, notes: s.Notes}
				for _, c := range s.Commands {
					out.commands = append(out.commands, c.Command)
				}
				return out
			}
		}
	}
	t.Fatalf("no step %q in the report", name)
	return pkgE2EStep{}
}

// ticked: every checklist line is ticked, each on evidence.
func (r pkgE2EResult) ticked(t *testing.T) {
	t.Helper()
	if len(r.report.Checklist) == 0 {
		t.Fatal("the run has no checklist")
	}
	for _, it := range r.report.Checklist {
		if !it.Ticked || len(it.Evidence) == 0 {
			t.Errorf("checklist line %q: ticked %v with %d evidence lines (%s)", it.Text, it.Ticked, len(it.Evidence), it.Reason)
		}
	}
}

// dpkgStatus reads a package's dpkg status letters and version directly
// ("ii", "2.10-3"); "" when dpkg does not know it.
func dpkgStatus(t *testing.T, name string) (status, version string) {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Abbrev}|${Version}", name).Output()
	if err != nil {
		return "", ""
	}
	s, v, _ := strings.Cut(string(out), "|")
	return strings.TrimSpace(s), v
}

// aptCandidate asks apt-cache which version of name the lists offer: the
// oracle for what a plan must say it installs.
func aptCandidate(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("apt-cache", "policy", name).Output()
	if err != nil {
		t.Fatalf("apt-cache policy %s: %v", name, err)
	}
	m := regexp.MustCompile(`(?m)^\s*Candidate: (\S+)`).FindStringSubmatch(string(out))
	if m == nil || m[1] == "(none)" {
		t.Fatalf("the apt lists offer no %s:\n%s", name, out)
	}
	return m[1]
}

func pkgE2EShell(t *testing.T, line string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", line).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return string(out)
}

func wantLines(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

const aptGetE2E = "sudo env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300 "

// hello: installed (present), lists refreshed (cache_valid_time), an old
// version upgraded (latest), removed (absent); each plan shows the change,
// each apply makes it, and a second apply and plan find nothing to do.
func TestPackageE2E(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("TestPackageE2E took %s", time.Since(start).Round(100*time.Millisecond)) }()
	remove := func() {
		if s, _ := dpkgStatus(t, "hello"); s != "" && s[1] != 'n' {
			pkgE2EShell(t, "DEBIAN_FRONTEND=noninteractive apt-get -y -q purge hello")
		}
	}
	if s, v := dpkgStatus(t, "hello"); s != "" && s[1] != 'n' {
		t.Logf("hello %s (%s) is left from an earlier run; removing it first", v, s)
		remove()
	}
	t.Cleanup(remove)
	candidate := aptCandidate(t, "hello")
	names := `names=["hello"]`

	// present
	offset := sshdLogSize(t)
	r := pkgE2ERun(t, "plan", "package.hcl", "--var", names)
	if r.code != 2 {
		t.Fatalf("plan exited %d, want 2 (changes pending)", r.code)
	}
	// What sshd ran for the plan: the one probe, without sudo.
	var probes int
	for _, c := range commandsSince(t, offset) {
		if strings.Contains(c, "sudo") || strings.Contains(c, "apt-get -y") {
			t.Errorf("the plan ran %s", c)
		}
		if strings.Contains(c, "dpkg-query -W") {
			probes++
		}
	}
	if probes != 1 {
		t.Errorf("sshd ran %d package probes for the plan, want 1", probes)
	}
	wantLines(t, "plan", r.stdout, "+ pkgs  install hello "+candidate, "hello: (absent) → "+candidate)
	if s, _ := dpkgStatus(t, "hello"); s == "ii" {
		t.Fatal("the plan installed hello")
	}
	r = pkgE2ERun(t, "apply", "package.hcl", "--var", names)
	if r.code != 0 {
		t.Fatalf("apply exited %d", r.code)
	}
	if s, v := dpkgStatus(t, "hello"); s != "ii" || v != candidate {
		t.Fatalf("after apply dpkg says hello %q %q, want ii %s", s, v, candidate)
	}
	st := r.step(t, "pkgs")
	if st.status != "changed" || len(st.commands) != 3 || st.commands[1] != aptGetE2E+"--no-install-recommends install hello" {
		t.Errorf("apply: %s, ran %q", st.status, st.commands)
	}
	wantLines(t, "notes", strings.Join(st.notes, "\n"), "hello: (absent) → "+candidate)
	r.ticked(t)
	// The checklist line shows the commands and the versions before and after.
	wantLines(t, "checklist evidence", strings.Join(r.report.Checklist[0].Evidence, "\n"),
		"`"+aptGetE2E+"--no-install-recommends install hello` → exit 0", "hello: (absent) → "+candidate)
	r = pkgE2ERun(t, "apply", "package.hcl", "--var", names)
	if st := r.step(t, "pkgs"); r.code != 0 || st.status != "unchanged" || len(st.commands) != 1 {
		t.Errorf("second apply: exit %d, %s, ran %q", r.code, st.status, st.commands)
	}
	r.ticked(t)
	if r := pkgE2ERun(t, "plan", "package.hcl", "--var", names); r.code != 0 || !strings.Contains(r.stdout, "= pkgs  already satisfied: hello "+candidate+" installed (apt)") {
		t.Errorf("plan after apply: exit %d", r.code)
	}

	// cache_valid_time: lists older than the window are refreshed (a real
	// apt-get update), then they are fresh and nothing is due.
	for _, p := range []string{"/var/lib/apt/lists/partial", "/var/lib/apt/lists", "/var/lib/apt/periodic/update-success-stamp"} {
		if _, err := os.Stat(p); err == nil {
			old := time.Now().Add(-2 * time.Hour)
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	cache := []string{"--var", names, "--var", "cache_valid_time=1h"}
	r = pkgE2ERun(t, "plan", "package.hcl", cache...)
	if r.code != 2 {
		t.Fatalf("plan with stale lists exited %d", r.code)
	}
	wantLines(t, "plan", r.stdout, "~ pkgs  refresh apt lists (refreshed 2h ago)", "apt lists: stale (older than 1h) → refreshed")
	r = pkgE2ERun(t, "apply", "package.hcl", cache...)
	st = r.step(t, "pkgs")
	if r.code != 0 || st.status != "changed" || len(st.commands) != 3 || st.commands[1] != aptGetE2E+"update" {
		t.Errorf("refresh: exit %d, %s, ran %q", r.code, st.status, st.commands)
	}
	if fi, err := os.Stat("/var/lib/apt/lists/partial"); err != nil || time.Since(fi.ModTime()) > time.Minute {
		t.Errorf("apt-get update did not touch the lists: %v", err)
	}
	if r := pkgE2ERun(t, "apply", "package.hcl", cache...); r.code != 0 || r.step(t, "pkgs").status != "unchanged" {
		t.Errorf("apply after the refresh: exit %d, %s", r.code, r.step(t, "pkgs").status)
	}

	// latest: an older hello (a package built here, version 0~runbook1,
	// below any real one) is upgraded to the archive's.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "hello", "DEBIAN"), 0o755); err != nil {
		t.Fatal(err)
	}
	control := "Package: hello\nVersion: 0~runbook1\nArchitecture: all\nMaintainer: runbook e2e <root@localhost>\nDescription: an old hello for runbook's latest test\n"
	if err := os.WriteFile(filepath.Join(dir, "hello", "DEBIAN", "control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgE2EShell(t, "dpkg-deb --root-owner-group --build "+dir+"/hello "+dir+"/hello.deb >/dev/null && dpkg -i "+dir+"/hello.deb")
	if _, v := dpkgStatus(t, "hello"); v != "0~runbook1" {
		t.Fatalf("the old hello did not install: %q", v)
	}
	latest := []string{"--var", names, "--var", "state=latest"}
	r = pkgE2ERun(t, "plan", "package.hcl", latest...)
	if r.code != 2 {
		t.Fatalf("latest plan exited %d", r.code)
	}
	wantLines(t, "plan", r.stdout, "~ pkgs  upgrade hello 0~runbook1 → "+candidate, "hello: 0~runbook1 → "+candidate)
	r = pkgE2ERun(t, "apply", "package.hcl", latest...)
	if _, v := dpkgStatus(t, "hello"); r.code != 0 || v != candidate {
		t.Fatalf("latest apply: exit %d, hello %q", r.code, v)
	}
	wantLines(t, "notes", strings.Join(r.step(t, "pkgs").notes, "\n"), "hello: 0~runbook1 → "+candidate)
	r.ticked(t)
	if r := pkgE2ERun(t, "apply", "package.hcl", latest...); r.code != 0 || r.step(t, "pkgs").status != "unchanged" || len(r.step(t, "pkgs").commands) != 1 {
		t.Errorf("second latest apply: exit %d, %+v", r.code, r.step(t, "pkgs"))
	}
	if r := pkgE2ERun(t, "plan", "package.hcl", latest...); r.code != 0 {
		t.Errorf("latest plan after apply exited %d", r.code)
	}

	// absent
	absent := []string{"--var", names, "--var", "state=absent"}
	r = pkgE2ERun(t, "plan", "package.hcl", absent...)
	if r.code != 2 {
		t.Fatalf("absent plan exited %d", r.code)
	}
	wantLines(t, "plan", r.stdout, "~ pkgs  remove hello "+candidate, "hello: "+candidate+" → (absent)")
	r = pkgE2ERun(t, "apply", "package.hcl", absent...)
	if s, _ := dpkgStatus(t, "hello"); r.code != 0 || s == "ii" {
		t.Fatalf("absent apply: exit %d, dpkg status %q", r.code, s)
	}
	if st := r.step(t, "pkgs"); st.commands[1] != aptGetE2E+"remove hello" {
		t.Errorf("removed with %q", st.commands)
	}
	r.ticked(t)
	if r := pkgE2ERun(t, "apply", "package.hcl", absent...); r.code != 0 || r.step(t, "pkgs").status != "unchanged" {
		t.Errorf("second absent apply: exit %d", r.code)
	}
	if r := pkgE2ERun(t, "plan", "package.hcl", absent...); r.code != 0 {
		t.Errorf("absent plan after apply exited %d", r.code)
	}

	// Without become, as rbadmin (not root), the plan says what to do,
	// and an apply fails before changing anything: its checklist line
	// stays unticked.
	r = pkgE2ERun(t, "plan", "package.hcl", "--var", names, "--var", "become=false")
	if r.code != 1 {
		t.Errorf("plan without become exited %d, want 1", r.code)
	}
	wantLines(t, "plan without become", r.stdout, "changing packages needs root", "hint: set become = true")
	r = pkgE2ERun(t, "apply", "package.hcl", "--var", names, "--var", "become=false")
	if st := r.step(t, "pkgs"); r.code != 1 || st.status != "failed" || !strings.Contains(st.hint, "become = true") {
		t.Errorf("apply without become: exit %d, %+v", r.code, st)
	}
	if it := r.report.Checklist[0]; it.Ticked || !strings.HasPrefix(it.Reason, "failed: changing packages needs root") {
		t.Errorf("a failed step's line: ticked %v, reason %q", it.Ticked, it.Reason)
	}
	if s, _ := dpkgStatus(t, "hello"); s == "ii" {
		t.Error("apply without become installed hello")
	}
}

// cronPid reads cron's pid file and checks the process is alive; 0 when
// cron is not running.
func cronPid(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/var/run/crond.pid")
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("crond.pid holds %q", b)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return 0
	}
	return pid
}

func cronLinks(t *testing.T) (s, k int) {
	t.Helper()
	for _, rl := range []string{"2", "3", "4", "5"} {
		if m, _ := filepath.Glob("/etc/rc" + rl + ".d/S[0-9][0-9]cron"); len(m) > 0 {
			s++
		}
		if m, _ := filepath.Glob("/etc/rc" + rl + ".d/K[0-9][0-9]cron"); len(m) > 0 {
			k++
		}
	}
	return s, k
}

// cron, installed by the package kind, started, stopped, restarted (with a
// new pid) and disabled/enabled at boot by the service kind through its
// init.d script: the testbed has no systemd.
func TestServiceE2E(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("TestServiceE2E took %s", time.Since(start).Round(100*time.Millisecond)) }()
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Fatal("this machine runs systemd; the test is written for the testbed's init.d services")
	}
	s, _ := dpkgStatus(t, "cron")
	wasInstalled, wasRunning := s == "ii", cronPid(t) > 0
	t.Cleanup(func() {
		switch {
		case !wasInstalled:
			if p := cronPid(t); p > 0 {
				pkgE2EShell(t, "/etc/init.d/cron stop")
			}
			pkgE2EShell(t, "DEBIAN_FRONTEND=noninteractive apt-get -y -q purge cron cron-daemon-common")
		case wasRunning && cronPid(t) == 0:
			pkgE2EShell(t, "/etc/init.d/cron start")
		case !wasRunning && cronPid(t) > 0:
			pkgE2EShell(t, "/etc/init.d/cron stop")
		}
		if wasInstalled {
			pkgE2EShell(t, "update-rc.d cron defaults && update-rc.d cron enable")
		}
	})

	// Before cron is installed, the plan cannot judge the service: it
	// reads "packages", which the package step changes.
	if !wasInstalled {
		r := pkgE2ERun(t, "plan", "service.hcl", "--var", "state=started")
		if r.code != 2 {
			t.Fatalf("plan exited %d", r.code)
		}
		wantLines(t, "plan", r.stdout, "+ cron_pkg  install cron", "? cron      known after apply: reads packages, which step.cron_pkg changes")
	}
	r := pkgE2ERun(t, "apply", "service.hcl", "--var", "state=started")
	if r.code != 0 || cronPid(t) == 0 {
		t.Fatalf("install and start: exit %d, cron pid %d", r.code, cronPid(t))
	}
	r.ticked(t)

	// stopped
	r = pkgE2ERun(t, "plan", "service.hcl", "--var", "state=stopped")
	if r.code != 2 {
		t.Fatalf("stop plan exited %d", r.code)
	}
	wantLines(t, "plan", r.stdout, "= cron_pkg", fmt.Sprintf("~ cron      stop cron (running, pid %d)", cronPid(t)), "state: running → stopped")
	r = pkgE2ERun(t, "apply", "service.hcl", "--var", "state=stopped")
	if r.code != 0 || cronPid(t) != 0 {
		t.Fatalf("stop: exit %d, cron pid %d", r.code, cronPid(t))
	}
	if out, _ := exec.Command("pidof", "/usr/sbin/cron").Output(); len(out) > 0 {
		t.Errorf("cron still runs: pid %s", out)
	}
	if st := r.step(t, "cron"); st.status != "changed" || st.commands[1] != "sudo service cron stop" {
		t.Errorf("stop: %s %q", st.status, st.commands)
	}
	r.ticked(t)
	if r := pkgE2ERun(t, "apply", "service.hcl", "--var", "state=stopped"); r.code != 0 || r.step(t, "cron").status != "unchanged" || len(r.step(t, "cron").commands) != 1 {
		t.Errorf("second stop: exit %d, %+v", r.code, r.step(t, "cron"))
	}
	if r := pkgE2ERun(t, "plan", "service.hcl", "--var", "state=stopped"); r.code != 0 {
		t.Errorf("stop plan after apply exited %d", r.code)
	}

	// started
	r = pkgE2ERun(t, "plan", "service.hcl", "--var", "state=started")
	wantLines(t, "plan", r.stdout, "~ cron      start cron", "state: stopped → running")
	r = pkgE2ERun(t, "apply", "service.hcl", "--var", "state=started")
	pid := cronPid(t)
	if r.code != 0 || pid == 0 {
		t.Fatalf("start: exit %d, pid %d", r.code, pid)
	}
	if st := r.step(t, "cron"); st.summary != fmt.Sprintf("started cron (pid %d)", pid) {
		t.Errorf("start summary %q", st.summary)
	}
	r.ticked(t)
	if r := pkgE2ERun(t, "apply", "service.hcl", "--var", "state=started"); r.code != 0 || r.step(t, "cron").status != "unchanged" {
		t.Errorf("second start: exit %d", r.code)
	}
	if r := pkgE2ERun(t, "plan", "service.hcl", "--var", "state=started"); r.code != 0 {
		t.Errorf("start plan after apply exited %d", r.code)
	}

	// restarted: always acts; the daemon must come back with a new pid.
	r = pkgE2ERun(t, "plan", "service.hcl", "--var", "state=restarted")
	wantLines(t, "plan", r.stdout, fmt.Sprintf("> cron      restart cron (running, pid %d)", pid))
	r = pkgE2ERun(t, "apply", "service.hcl", "--var", "state=restarted")
	newPid := cronPid(t)
	if r.code != 0 || newPid == 0 || newPid == pid {
		t.Fatalf("restart: exit %d, pid %d → %d", r.code, pid, newPid)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("the old cron (pid %d) still runs", pid)
	}
	st := r.step(t, "cron")
	if st.summary != fmt.Sprintf("restarted cron (pid %d → %d)", pid, newPid) || st.commands[1] != "sudo service cron restart" {
		t.Errorf("restart: %q %q", st.summary, st.commands)
	}
	r.ticked(t)

	// enabled: update-rc.d turns the boot links off and on.
	if s, k := cronLinks(t); s != 4 || k != 0 {
		t.Fatalf("cron's package left %d S and %d K links, want 4 and 0", s, k)
	}
	r = pkgE2ERun(t, "plan", "service.hcl", "--var", "enabled=false")
	wantLines(t, "plan", r.stdout, "~ cron      disable cron at boot", "enabled: true → false")
	r = pkgE2ERun(t, "apply", "service.hcl", "--var", "enabled=false")
	if s, k := cronLinks(t); r.code != 0 || s != 0 || k != 4 {
		t.Errorf("disable: exit %d, links S%d K%d", r.code, s, k)
	}
	if r := pkgE2ERun(t, "apply", "service.hcl", "--var", "enabled=false"); r.code != 0 || r.step(t, "cron").status != "unchanged" {
		t.Errorf("second disable: exit %d", r.code)
	}
	r = pkgE2ERun(t, "apply", "service.hcl", "--var", "enabled=true", "--var", "state=stopped")
	if s, k := cronLinks(t); r.code != 0 || s != 4 || k != 0 || cronPid(t) != 0 {
		t.Errorf("enable and stop: exit %d, links S%d K%d, pid %d", r.code, s, k, cronPid(t))
	}
	if st := r.step(t, "cron"); len(st.commands) != 4 || st.commands[1] != "sudo service cron stop" || st.commands[2] != "sudo update-rc.d cron enable" {
		t.Errorf("enable and stop ran %q", st.commands)
	}
	if r := pkgE2ERun(t, "plan", "service.hcl", "--var", "enabled=true", "--var", "state=stopped"); r.code != 0 {
		t.Errorf("plan after enable and stop exited %d", r.code)
	}
}

// Bad input is refused by validate (exit 3) with the file and line of the
// attribute, before any host is contacted.
func TestPackageE2EBadInput(t *testing.T) {
	tests := []struct {
		file string
		vars []string
		line string
		msg  string
	}{
		{"package.hcl", []string{`names=["hello=2.10-3"]`}, "names              = var.names", "version pins are not supported"},
		{"package.hcl", []string{`names=["hello"]`, "state=installed"}, "state              = var.state", `not "installed" (write "present")`},
		{"package.hcl", []string{`names=["hello"]`, "cache_valid_time=a day"}, "cache_valid_time   = var.cache_valid_time", `"a day" is not a duration`},
		{"service.hcl", []string{"state=running"}, "state     = var.state", `not "running" (write "started")`},
	}
	for _, tt := range tests {
		argv := []string{"validate", filepath.Join(repoRoot, "runbooks", "testdata", "packages", tt.file), "-i", inventory}
		for _, v := range tt.vars {
			argv = append(argv, "--var", v)
		}
		out, err := exec.Command(runbookBin, argv...).CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 3 {
			t.Errorf("validate %s %v: %v, want exit 3\n%s", tt.file, tt.vars, err, out)
			continue
		}
		wantLines(t, "validate output", string(out), "testdata/packages/"+tt.file+" line ", tt.line, tt.msg)
	}
}
