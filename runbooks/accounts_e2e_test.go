//go:build e2e

// End-to-end tests of the user and group kinds and of command's removes
// and chdir, on the testbed's real sshd: the "remote" host is this
// machine, so the test reads the accounts it made with getent directly.
// Accounts and groups are named rbtacc-*, which the testbed never uses,
// and are removed before and after each test.
//
//	flock /tmp/testbed-e2e.flock bash -c 'set -a; . /tmp/runbook-testbed/env; set +a; go test -count=1 -tags e2e -run TestAccounts ./runbooks/'
package runbooks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const (
	acctUser   = "rbtacc-u"
	acctGroup1 = "rbtacc-g1"
	acctGroup2 = "rbtacc-g2"
)

// acctReport is the part of report.json these tests read.
type acctReport struct {
	Result string `json:"result"`
	Hosts  []struct {
		Name  string `json:"name"`
		Steps []struct {
			Name     string `json:"name"`
			Status   string `json:"status"`
			Summary  string `json:"summary"`
			Error    string `json:"error"`
			Hint     string `json:"hint"`
			Commands []struct {
				Command  string `json:"command"`
				Become   bool   `json:"become"`
				ExitCode int    `json:"exit_code"`
			} `json:"commands"`
		} `json:"steps"`
	} `json:"hosts"`
	Checklist []struct {
		Text     string   `json:"text"`
		Step     string   `json:"step"`
		Ticked   bool     `json:"ticked"`
		Evidence []string `json:"evidence"`
		Reason   string   `json:"reason"`
	} `json:"checklist"`
}

type acctResult struct {
	code   int
	stdout string
	report acctReport
}

// acctRunbook runs runbook on a runbook of testdata/accounts, or (an
// absolute path) on a saved plan; for apply it loads the run's report.
func acctRunbook(t *testing.T, verb, file string, args ...string) acctResult {
	t.Helper()
	if os.Getenv("TESTBED_RBADMIN_SUDO_PASSWORD") == "" {
		t.Fatal("TESTBED_RBADMIN_SUDO_PASSWORD is not set: source the testbed's env file (set -a; . /tmp/runbook-testbed/env; set +a)")
	}
	state := t.TempDir()
	argv := []string{verb, file, "--state-dir", state}
	if !filepath.IsAbs(file) {
		argv = []string{verb, filepath.Join(repoRoot, "runbooks", "testdata", "accounts", file), "-i", inventory, "--state-dir", state}
	}
	argv = append(argv, args...)
	if verb == "apply" {
		argv = append(argv, "--auto-approve")
	}
	cmd := exec.Command(runbookBin, argv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := acctResult{stdout: stdout.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("runbook %s %s %v → exit %d\n%s%s", verb, file, args, r.code, r.stdout, stderr.String())
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

// steps returns the report's steps by name (one host).
func (r acctResult) step(t *testing.T, name string) (status string, commands []string, errText, hint string) {
	t.Helper()
	for _, h := range r.report.Hosts {
		for _, s := range h.Steps {
			if s.Name == name {
				for _, c := range s.Commands {
					commands = append(commands, c.Command)
				}
				return s.Status, commands, s.Error, s.Hint
			}
		}
	}
	t.Fatalf("no step %q in the report", name)
	return
}

// checkTicked: every checklist line is ticked, each on evidence.
func (r acctResult) checkTicked(t *testing.T) {
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

// getent reads this machine's account databases, independently of runbook.
func getent(t *testing.T, db, key string) (string, bool) {
	t.Helper()
	out, err := exec.Command("getent", db, key).Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 {
		return "", false
	} else if err != nil {
		t.Fatalf("getent %s %s: %v", db, key, err)
	}
	return strings.TrimSpace(string(out)), true
}

// acctCleanup removes the test's accounts as root, whatever state a
// failed run left them in.
func acctCleanup(t *testing.T) {
	if _, ok := getent(t, "passwd", acctUser); ok {
		if out, err := exec.Command("userdel", "-r", acctUser).CombinedOutput(); err != nil {
			t.Errorf("cleanup: userdel: %v\n%s", err, out)
		}
	}
	for _, g := range []string{acctGroup1, acctGroup2, acctUser} {
		if _, ok := getent(t, "group", g); ok {
			if out, err := exec.Command("groupdel", g).CombinedOutput(); err != nil {
				t.Errorf("cleanup: groupdel %s: %v\n%s", g, err, out)
			}
		}
	}
}

// freeGID picks a gid no group has, for a gid the plan can name.
func freeGID(t *testing.T) int {
	for gid := 47110; gid < 48000; gid++ {
		if _, ok := getent(t, "group", strconv.Itoa(gid)); !ok {
			return gid
		}
	}
	t.Fatal("no free gid in 47110..47999")
	return 0
}

func wantIn(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// A user and two groups are created, changed and removed. Each time the
// plan shows the change, apply of that saved plan makes it (getent
// agrees), and a second apply and plan find nothing to do at one remote
// command per step.
func TestAccountsUserGroupLifecycle(t *testing.T) {
	acctCleanup(t)
	t.Cleanup(func() { acctCleanup(t) })
	gid := freeGID(t)
	base := []string{"--var", "user=" + acctUser, "--var", "group1=" + acctGroup1, "--var", "group2=" + acctGroup2, "--var", fmt.Sprintf("gid=%d", gid)}
	home := "/home/" + acctUser

	phases := []struct {
		name     string
		vars     []string
		plan     []string // lines the plan must show
		commands map[string]string
		check    func(t *testing.T)
	}{
		{
			name: "create",
			vars: []string{"--var", `groups=["` + acctGroup1 + `"]`},
			plan: []string{
				"+ group1  create group " + acctGroup1, fmt.Sprintf("gid: (none) → %d", gid),
				"+ group2  create group " + acctGroup2,
				"+ user    create user " + acctUser + " (once group " + acctGroup1 + " is created)",
				"groups: (none) → " + acctGroup1 + "\n", "shell: (none) → /bin/sh", "comment: (none) → Runbook Test",
			},
			commands: map[string]string{
				"group1": fmt.Sprintf("sudo groupadd -g %d %s", gid, acctGroup1),
				"group2": "sudo groupadd " + acctGroup2,
				"user":   "sudo useradd -G " + acctGroup1 + " -s /bin/sh -c 'Runbook Test' -m " + acctUser,
			},
			check: func(t *testing.T) {
				pw, ok := getent(t, "passwd", acctUser)
				if !ok || !strings.HasSuffix(pw, ":Runbook Test:"+home+":/bin/sh") {
					t.Errorf("getent passwd %s = %q", acctUser, pw)
				}
				if g, _ := getent(t, "group", acctGroup1); g != fmt.Sprintf("%s:x:%d:%s", acctGroup1, gid, acctUser) {
					t.Errorf("getent group %s = %q", acctGroup1, g)
				}
				if _, err := os.Stat(home); err != nil {
					t.Errorf("no home directory: %v", err)
				}
			},
		},
		{
			name: "modify",
			vars: []string{"--var", `groups=["` + acctGroup1 + `","` + acctGroup2 + `"]`, "--var", "shell=/bin/bash", "--var", "comment=Runbook Test 2"},
			plan: []string{
				"= group1  already as desired: group " + acctGroup1,
				"~ user    modify user " + acctUser + ": groups, shell, comment",
				"groups: " + acctGroup1 + " → " + acctGroup1 + "," + acctGroup2 + " (+ " + acctGroup2 + ")",
				"shell: /bin/sh → /bin/bash",
				"comment: Runbook Test → Runbook Test 2",
			},
			commands: map[string]string{
				"user": "sudo usermod -G " + acctGroup1 + "," + acctGroup2 + " -s /bin/bash -c 'Runbook Test 2' " + acctUser,
			},
			check: func(t *testing.T) {
				if pw, _ := getent(t, "passwd", acctUser); !strings.HasSuffix(pw, ":Runbook Test 2:"+home+":/bin/bash") {
					t.Errorf("getent passwd %s = %q", acctUser, pw)
				}
				if g, _ := getent(t, "group", acctGroup2); !strings.HasSuffix(g, ":"+acctUser) {
					t.Errorf("getent group %s = %q", acctGroup2, g)
				}
				out, _ := exec.Command("id", "-Gn", acctUser).Output()
				if got := strings.TrimSpace(string(out)); got != acctUser+" "+acctGroup1+" "+acctGroup2 {
					t.Errorf("id -Gn %s = %q", acctUser, got)
				}
			},
		},
		{
			name: "remove",
			vars: []string{"--var", "state=absent", "--var", `groups=[]`},
			plan: []string{
				"~ group1  remove group " + acctGroup1, fmt.Sprintf("state: present (gid %d) → absent", gid),
				"~ group2  remove group " + acctGroup2,
				"~ user    remove user " + acctUser + " and its home directory " + home,
			},
			commands: map[string]string{
				"group1": "sudo groupdel " + acctGroup1,
				"user":   "sudo userdel -r " + acctUser,
			},
			check: func(t *testing.T) {
				for _, q := range [][2]string{{"passwd", acctUser}, {"group", acctGroup1}, {"group", acctGroup2}, {"group", acctUser}} {
					if e, ok := getent(t, q[0], q[1]); ok {
						t.Errorf("getent %s %s still finds %q", q[0], q[1], e)
					}
				}
				if _, err := os.Stat(home); !os.IsNotExist(err) {
					t.Errorf("home directory still there: %v", err)
				}
			},
		},
	}
	for _, ph := range phases {
		args := append(append([]string{}, base...), ph.vars...)
		t.Run(ph.name, func(t *testing.T) {
			saved := filepath.Join(t.TempDir(), "accounts.plan")
			p := acctRunbook(t, "plan", "accounts.hcl", append(args, "--detailed-exitcode", "--show-commands", "--out", saved)...)
			if p.code != 2 {
				t.Fatalf("plan exited %d, want 2 (changes pending)", p.code)
			}
			wantIn(t, "plan", p.stdout, ph.plan...)
			for _, c := range ph.commands {
				wantIn(t, "plan --show-commands", p.stdout, "$ "+c)
			}

			// The saved plan applies: what apply finds is what the plan
			// showed, the groups made by earlier steps included.
			r := acctRunbook(t, "apply", saved)
			if r.code != 0 {
				t.Fatalf("apply of the saved plan exited %d", r.code)
			}
			for stepName, c := range ph.commands {
				status, cmds, _, _ := r.step(t, stepName)
				// The probe, the change, the read-back.
				if status != "changed" || len(cmds) != 3 || cmds[1] != c || cmds[0] != cmds[2] {
					t.Errorf("step %s: %s with %q, want changed by probe, %q, probe", stepName, status, cmds, c)
				}
				if strings.HasPrefix(cmds[0], "sudo") {
					t.Errorf("step %s probed through sudo: %q", stepName, cmds[0])
				}
			}
			r.checkTicked(t)
			ph.check(t)

			again := acctRunbook(t, "apply", "accounts.hcl", args...)
			if again.code != 0 {
				t.Fatalf("second apply exited %d", again.code)
			}
			for _, st := range []string{"group1", "group2", "user"} {
				status, cmds, _, _ := again.step(t, st)
				if status != "unchanged" || len(cmds) != 1 {
					t.Errorf("second apply: step %s is %s after %d commands %q, want unchanged after 1", st, status, len(cmds), cmds)
				}
			}
			again.checkTicked(t)
			ph.check(t)

			p = acctRunbook(t, "plan", "accounts.hcl", append(args, "--detailed-exitcode")...)
			if p.code != 0 {
				t.Errorf("plan after apply exited %d, want 0 (nothing to do)", p.code)
			}
			wantIn(t, "plan after apply", p.stdout, "0 to create, 0 to modify, 0 to run")
		})
		if t.Failed() {
			return
		}
	}
}

// Without become the login user (not root) cannot make an account: on
// this Debian host it does not even find groupadd (/usr/sbin is not on a
// non-root login's PATH). The step fails with the shell's words and the
// hint to set become, and its checklist line stays unticked.
func TestAccountsWithoutBecome(t *testing.T) {
	acctCleanup(t)
	t.Cleanup(func() { acctCleanup(t) })
	r := acctRunbook(t, "apply", "accounts.hcl", "--var", "user="+acctUser, "--var", "group1="+acctGroup1, "--var", "group2="+acctGroup2,
		"--var", fmt.Sprintf("gid=%d", freeGID(t)), "--var", "groups=[]", "--var", "become=false")
	if r.code != 1 {
		t.Fatalf("apply exited %d, want 1", r.code)
	}
	status, cmds, errText, hint := r.step(t, "group1")
	if status != "failed" || !strings.Contains(errText, "groupadd: command not found") || !strings.Contains(hint, "set become = true") {
		t.Errorf("group1: %s %q, hint %q (commands %q)", status, errText, hint, cmds)
	}
	for _, it := range r.report.Checklist {
		if it.Ticked {
			t.Errorf("checklist line %q ticked in a failed run", it.Text)
		}
	}
	if _, ok := getent(t, "group", acctGroup1); ok {
		t.Errorf("group %s exists after the failed run", acctGroup1)
	}
}

// command's removes and chdir: the line runs in chdir while the removes
// path is there, the argv runs in chdir until the creates path is; then
// both are satisfied at one probe each. A chdir that is missing fails the
// step before anything runs.
func TestAccountsCommandRemovesChdir(t *testing.T) {
	dir := filepath.Join(testbedDir, "jobs", fmt.Sprintf("rbtacc-cmd-%d", os.Getpid()))
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The login user (koopark) moves and makes files in it.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pending"), []byte("data\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	vars := []string{"--var", "dir=" + dir}

	p := acctRunbook(t, "plan", "command.hcl", append(vars, "--detailed-exitcode", "--show-commands")...)
	if p.code != 2 {
		t.Fatalf("plan exited %d, want 2", p.code)
	}
	wantIn(t, "plan", p.stdout, "> consume  will run: mv pending consumed (in "+dir+")", "> marker   will run: touch made (in "+dir+")",
		"$ cd "+dir+" || exit 125; mv pending consumed", "$ cd "+dir+" || exit 125; touch made")

	r := acctRunbook(t, "apply", "command.hcl", vars...)
	if r.code != 0 {
		t.Fatalf("apply exited %d", r.code)
	}
	for _, f := range []struct {
		name string
		want bool
	}{{"pending", false}, {"consumed", true}, {"made", true}} {
		if _, err := os.Stat(filepath.Join(dir, f.name)); (err == nil) != f.want {
			t.Errorf("%s: exists = %v, want %v", f.name, err == nil, f.want)
		}
	}
	for st, probe := range map[string]string{"consume": "cd " + dir + " || exit 125; test -e pending", "marker": "cd " + dir + " || exit 125; test -e made"} {
		status, cmds, _, _ := r.step(t, st)
		if status != "changed" || len(cmds) != 2 || cmds[0] != probe {
			t.Errorf("step %s: %s %q, want changed after probe %q and the command", st, status, cmds, probe)
		}
	}
	r.checkTicked(t)

	again := acctRunbook(t, "apply", "command.hcl", vars...)
	if again.code != 0 {
		t.Fatalf("second apply exited %d", again.code)
	}
	for st, why := range map[string]string{"consume": "already satisfied (removes: pending does not exist)", "marker": "already satisfied (creates: made exists)"} {
		status, cmds, _, _ := again.step(t, st)
		summary := ""
		for _, s := range again.report.Hosts[0].Steps {
			if s.Name == st {
				summary = s.Summary
			}
		}
		if status != "unchanged" || len(cmds) != 1 || summary != why {
			t.Errorf("second apply: step %s %s %q after %q, want unchanged %q after one probe", st, status, summary, cmds, why)
		}
	}
	again.checkTicked(t)
	if p := acctRunbook(t, "plan", "command.hcl", append(vars, "--detailed-exitcode")...); p.code != 0 {
		t.Errorf("plan after apply exited %d, want 0", p.code)
	}

	missing := filepath.Join(dir, "not-there")
	bad := acctRunbook(t, "apply", "command.hcl", "--var", "dir="+missing)
	if bad.code != 1 {
		t.Fatalf("apply in a missing chdir exited %d, want 1", bad.code)
	}
	status, cmds, errText, hint := bad.step(t, "consume")
	if status != "failed" || !strings.HasPrefix(errText, "chdir "+missing+": cannot enter the directory") || len(cmds) != 1 || hint == "" {
		t.Errorf("consume in a missing chdir: %s %q (hint %q) after %q", status, errText, hint, cmds)
	}
	for _, it := range bad.report.Checklist {
		if it.Ticked {
			t.Errorf("checklist line %q ticked in a failed run", it.Text)
		}
	}
}
