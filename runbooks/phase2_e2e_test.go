//go:build e2e

// End-to-end tests of runbooks/phase2.hcl against the real Slurm testbed
// (testbed/up), over the testbed's real OpenSSH server. They never skip:
// a missing testbed is a failure.
package runbooks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/schema/schematest"
)

var (
	runbookBin  string
	testbedDir  = envOr("TESTBED_DIR", "/tmp/runbook-testbed")
	inventory   string
	repoRoot, _ = filepath.Abs("..")
)

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func TestMain(m *testing.M) {
	schematest.WrapMain() // when this binary runs as the wrapper below
	dir, err := os.MkdirTemp("", "runbook-e2e-bin")
	if err != nil {
		panic(err)
	}
	runbookBin = filepath.Join(dir, "runbook")
	build := exec.Command("go", "build", "-o", runbookBin, "./cmd/runbook")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(2)
	}
	inventory = filepath.Join(testbedDir, "inventory.hcl")
	// Every record, plan and event stream runbook writes in these tests
	// must match docs/schemas/: the tests run it through a wrapper that checks.
	var schemaFindings func() error
	runbookBin, schemaFindings = schematest.Wrap(runbookBin)
	code := m.Run()
	if err := schemaFindings(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// testbedBroken holds the first testbed script failure of this test binary.
// Later calls fail at once instead of each waiting out the scripts' own lock
// timeout (ten minutes): a broken testbed must not eat CI's whole time budget.
var testbedBroken error

// testbed runs one of the testbed scripts and fails the test if it fails.
func testbed(t *testing.T, script string, args ...string) {
	t.Helper()
	if testbedBroken != nil {
		t.Fatalf("testbed/%s not run: an earlier testbed script failed in this run: %v", script, testbedBroken)
	}
	cmd := exec.Command(filepath.Join(repoRoot, "testbed", script), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		testbedBroken = fmt.Errorf("testbed/%s %v: %v\n%s", script, args, err, out)
		t.Fatal(testbedBroken)
	}
}

// slurm runs a Slurm client command directly on this machine (the
// testbed's controller), to check state independently of runbook.
func slurm(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return string(out)
}

type result struct {
	code   int
	stdout string
	stderr string
	report report
	md     string
}

type report struct {
	Result string `json:"result"`
	Hosts  []struct {
		Name  string `json:"name"`
		Error string `json:"error"`
		Steps []struct {
			Name     string `json:"name"`
			Status   string `json:"status"`
			Error    string `json:"error"`
			Hint     string `json:"hint"`
			Commands []struct {
				Command  string `json:"command"`
				ExitCode int    `json:"exit_code"`
				Stdout   string `json:"stdout"`
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

func (r report) step(t *testing.T, name string) (status, errText, hint string, commands []string) {
	t.Helper()
	for _, h := range r.Hosts {
		for _, s := range h.Steps {
			if s.Name == name {
				for _, c := range s.Commands {
					commands = append(commands, c.Command)
				}
				return s.Status, s.Error, s.Hint, commands
			}
		}
	}
	t.Fatalf("no step %q in the report", name)
	return
}

// apply runs `runbook apply runbooks/phase2.hcl` and loads its report.
func apply(t *testing.T, inv string, args ...string) result {
	t.Helper()
	state := t.TempDir()
	argv := append([]string{"apply", filepath.Join(repoRoot, "runbooks", "phase2.hcl"), "-i", inv, "--auto-approve", "--state-dir", state}, args...)
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
	runs, _ := filepath.Glob(filepath.Join(state, "runs", "*-phase2"))
	if len(runs) != 1 {
		t.Fatalf("want one run record, found %v\nstdout:\n%s\nstderr:\n%s", runs, r.stdout, r.stderr)
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
	t.Logf("runbook %v → exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	return r
}

func ticked(r result) (n int, lines []string) {
	for _, it := range r.report.Checklist {
		if it.Ticked {
			n++
			lines = append(lines, it.Text)
		}
	}
	return n, lines
}

const qosRow = "moonlight|100|08:00:00|gres/gpu=2|00:01:00"

func readQoS(t *testing.T) string {
	return strings.TrimSpace(slurm(t, "sacctmgr", "-n", "-P", "show", "qos", "moonlight", "format=Name,Priority,MaxWall,MaxTRESPerUser,GraceTime"))
}

// Requirement 1 and 2: a fresh apply ticks all eight items on evidence;
// a second apply changes nothing.
func TestPhase2FreshThenIdempotent(t *testing.T) {
	testbed(t, "up")
	testbed(t, "reset")
	r := apply(t, inventory, "--var", "account=hpc-users")
	if r.code != 0 {
		t.Fatalf("apply exited %d, want 0", r.code)
	}
	if got := readQoS(t); got != qosRow {
		t.Fatalf("QoS reads %q, want %q", got, qosRow)
	}
	if n, _ := ticked(r); n != 8 || len(r.report.Checklist) != 8 {
		t.Fatalf("ticked %d of %d, want 8 of 8:\n%s", n, len(r.report.Checklist), r.md)
	}
	for _, it := range r.report.Checklist {
		if len(it.Evidence) == 0 {
			t.Errorf("item %q ticked without evidence", it.Text)
		}
	}
	if strings.Count(r.md, "- [x]") != 8 {
		t.Errorf("checklist.md does not tick 8 items:\n%s", r.md)
	}
	// The evidence names the real commands, exit codes and output.
	for _, want := range []string{"sacctmgr -i add qos moonlight", "sacctmgr -i modify qos moonlight set", "sbatch --parsable --chdir=/tmp/runbook-test-job.", "→ exit 0"} {
		if !strings.Contains(r.md, want) {
			t.Errorf("checklist.md lacks evidence %q", want)
		}
	}

	// Each of the test job's lines shows the evidence that proves it, not
	// all of the step's (issue 14, bug 6).
	for _, c := range []struct{ line, has, hasNot string }{
		{"submit the test job", "`sbatch --parsable --chdir=/tmp/runbook-test-job.", "`cat "},
		{"confirm the job's QoS", "QOS=moonlight", "`sbatch "},
		{"check the job log", "`cat /tmp/runbook-test-job.", "`scontrol show job"},
	} {
		for _, it := range r.report.Checklist {
			if !strings.HasPrefix(it.Text, c.line) {
				continue
			}
			ev := strings.Join(it.Evidence, "\n")
			if !strings.Contains(ev, c.has) || strings.Contains(ev, c.hasNot) {
				t.Errorf("%q: evidence should show %q and not %q:\n%s", it.Text, c.has, c.hasNot, ev)
			}
		}
	}

	again := apply(t, inventory, "--var", "account=hpc-users")
	if again.code != 0 {
		t.Fatalf("second apply exited %d", again.code)
	}
	for _, st := range []string{"qos", "qos_limits"} {
		status, _, _, cmds := again.report.step(t, st)
		if status != "unchanged" {
			t.Errorf("second apply: step %s is %s, want unchanged", st, status)
		}
		for _, c := range cmds {
			if strings.Contains(c, " add ") || strings.Contains(c, " modify ") {
				t.Errorf("second apply ran a change: %s", c)
			}
		}
	}
	if n, _ := ticked(again); n != 8 {
		t.Errorf("second apply ticked %d of 8", n)
	}
}

// Requirement 3: wrong values are corrected with one modify of exactly the
// differing fields.
func TestPhase2CorrectsDrift(t *testing.T) {
	testbed(t, "up")
	testbed(t, "reset")
	slurm(t, "sacctmgr", "-i", "add", "qos", "moonlight")
	slurm(t, "sacctmgr", "-i", "modify", "qos", "moonlight", "set", "Priority=5", "GraceTime=60", "MaxTRESPerUser=gres/gpu=2")
	r := apply(t, inventory, "--var", "account=hpc-users")
	if r.code != 0 {
		t.Fatalf("apply exited %d", r.code)
	}
	status, _, _, cmds := r.report.step(t, "qos_limits")
	if status != "changed" {
		t.Fatalf("qos_limits is %s, want changed", status)
	}
	var modifies []string
	for _, c := range cmds {
		if strings.Contains(c, "modify qos") {
			modifies = append(modifies, c)
		}
	}
	if len(modifies) != 1 {
		t.Fatalf("want exactly one modify, got %q", modifies)
	}
	m := modifies[0]
	if !strings.Contains(m, "Priority=100") || !strings.Contains(m, "MaxWall=08:00:00") || strings.Contains(m, "GraceTime") || strings.Contains(m, "MaxTRESPerUser") {
		t.Fatalf("modify should set exactly Priority and MaxWall: %s", m)
	}
	if got := readQoS(t); got != qosRow {
		t.Fatalf("QoS reads %q, want %q", got, qosRow)
	}
}

// Requirement 4: with account set, koopark's association lists moonlight.
func TestPhase2GrantsAccount(t *testing.T) {
	testbed(t, "up")
	testbed(t, "reset")
	before := slurm(t, "sacctmgr", "-n", "-P", "show", "assoc", "where", "user=koopark", "format=User,QOS")
	if strings.Contains(before, "moonlight") {
		t.Fatalf("reset left moonlight on koopark: %s", before)
	}
	r := apply(t, inventory, "--var", "account=hpc-users")
	if r.code != 0 {
		t.Fatalf("apply exited %d", r.code)
	}
	after := slurm(t, "sacctmgr", "-n", "-P", "show", "assoc", "where", "user=koopark", "format=User,QOS")
	if !regexp.MustCompile(`koopark\|.*moonlight`).MatchString(after) {
		t.Fatalf("koopark's association lacks moonlight: %q", after)
	}
	if status, _, _, _ := r.report.step(t, "check_grant"); status != "ok" {
		t.Fatalf("check_grant is %s", status)
	}
}

// writeInventory writes an inventory whose slurm_controller is the given
// testbed host, optionally with has_nvidia_smi = true (a real GPU node).
func writeInventory(t *testing.T, host string, nvidiaSMI bool) string {
	t.Helper()
	src, err := os.ReadFile(inventory)
	if err != nil {
		t.Fatalf("testbed inventory: %v", err)
	}
	s := strings.Replace(string(src), `hosts = ["ctl1"]`, `hosts = ["`+host+`"]`, 1)
	if nvidiaSMI {
		s = strings.ReplaceAll(s, "has_nvidia_smi = false", "has_nvidia_smi = true")
	}
	p := filepath.Join(t.TempDir(), "inventory.hcl")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Requirement 5: each sabotage exits 1, names the cause with a hint, and
// leaves the affected items unticked.
func TestPhase2Sabotage(t *testing.T) {
	testbed(t, "up")
	cases := []struct {
		name      string
		setup     func(t *testing.T)
		teardown  func(t *testing.T)
		inv       func(t *testing.T) string
		args      []string
		step      string
		errWant   string
		hintWant  string
		maxTicked int
	}{
		{
			name: "enforcement off", step: "cluster", errWant: "lacks limits", hintWant: "AccountingStorageEnforce",
			setup:    func(t *testing.T) { testbed(t, "up", "--no-enforce") },
			teardown: func(t *testing.T) { testbed(t, "up") },
		},
		{
			name: "partition missing", step: "cluster", errWant: "nosuch", hintWant: "partition",
			args: []string{"--var", "partition=nosuch"},
		},
		{
			name: "sudo denied", step: "qos", errWant: "sudo", hintWant: "sudoers",
			inv: func(t *testing.T) string { return writeInventory(t, "ctl1-nosudo", false) }, maxTicked: 1,
		},
		{
			// koopark without sudo is no Slurm administrator.
			name: "sacctmgr denied", step: "qos", errWant: "permission", hintWant: "become",
			args: []string{"--var", "become=false"}, maxTicked: 1,
		},
		{
			name: "slurmdbd stopped", step: "qos_list", errWant: "", hintWant: "slurmdbd",
			setup:    func(t *testing.T) { stopDaemon(t, "slurm/slurmdbd.pid") },
			teardown: func(t *testing.T) { testbed(t, "up") },
		},
		{
			// The guide says "by default every user may use it": not with
			// AccountingStorageEnforce=...,qos. Without the grant the job
			// would be refused; the preflight says so before any change
			// (it was the test job's sbatch, after the QoS was made:
			// issue 14, bug 5; TestPhase2WithoutGrantFailsFirst).
			name: "qos not granted", step: "cluster", errWant: "Invalid qos", hintWant: "--var account=NAME",
			args: []string{"--var", "account="}, maxTicked: 0,
		},
		{
			name: "test job fails", step: "gpu_test", errWant: "nvidia-smi", hintWant: "nvidia-smi",
			inv: func(t *testing.T) string { return writeInventory(t, "ctl1", true) }, maxTicked: 4,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testbed(t, "reset")
			if tc.setup != nil {
				tc.setup(t)
			}
			if tc.teardown != nil {
				defer tc.teardown(t)
			}
			inv := inventory
			if tc.inv != nil {
				inv = tc.inv(t)
			}
			args := append([]string{"--var", "account=hpc-users"}, tc.args...)
			r := apply(t, inv, args...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1", r.code)
			}
			status, errText, hint, _ := r.report.step(t, tc.step)
			if status != "failed" {
				t.Fatalf("step %s is %s, want failed (error %q)", tc.step, status, errText)
			}
			if !strings.Contains(strings.ToLower(errText+" "+hint), strings.ToLower(tc.errWant)) {
				t.Errorf("error %q / hint %q does not name %q", errText, hint, tc.errWant)
			}
			if !strings.Contains(strings.ToLower(hint+" "+errText), strings.ToLower(tc.hintWant)) {
				t.Errorf("hint %q does not mention %q", hint, tc.hintWant)
			}
			if !strings.Contains(r.stdout, "hint:") {
				t.Errorf("the terminal output carries no hint:\n%s", r.stdout)
			}
			if n, lines := ticked(r); n > tc.maxTicked {
				t.Errorf("ticked %d items (%q), at most %d allowed", n, lines, tc.maxTicked)
			}
			for _, it := range r.report.Checklist {
				if it.Ticked && len(it.Evidence) == 0 {
					t.Errorf("%q ticked without evidence", it.Text)
				}
			}
			// No orphaned test job is left behind.
			if q := queueAfterCancel(t); q != "" {
				t.Errorf("jobs left in the queue:\n%s", q)
			}
		})
	}
}

// Issue 14, bug 5: without --var account on a cluster enforcing qos, the
// QoS was created and changed, and then the test job was refused. Plan and
// apply now both fail in the preflight, naming --var account=NAME, and
// nothing is created.
func TestPhase2WithoutGrantFailsFirst(t *testing.T) {
	testbed(t, "up")
	testbed(t, "reset")
	before := clusterState(t)

	out, code := plan(t)
	if code != 1 {
		t.Fatalf("plan without account exited %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"cluster", "Invalid qos specification", "--var account=NAME", "qos+=moonlight"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "(once created)") {
		t.Errorf("plan went on planning past the preflight:\n%s", out)
	}

	r := apply(t, inventory)
	if r.code != 1 {
		t.Fatalf("apply without account exited %d, want 1", r.code)
	}
	status, errText, hint, _ := r.report.step(t, "cluster")
	if status != "failed" || !strings.Contains(errText, "Invalid qos specification") || !strings.Contains(hint, "--var account=NAME") {
		t.Fatalf("preflight: %s %q (hint %q), want failed naming the refusal and --var account=NAME", status, errText, hint)
	}
	for _, st := range []string{"qos", "qos_limits", "gpu_test"} {
		if status, _, _, cmds := r.report.step(t, st); status != "not_run" || len(cmds) > 0 {
			t.Errorf("step %s is %s and ran %q after the preflight failed", st, status, cmds)
		}
	}
	if n, lines := ticked(r); n != 0 {
		t.Errorf("ticked %q", lines)
	}
	if q := strings.TrimSpace(slurm(t, "sacctmgr", "-n", "-P", "show", "qos", "moonlight", "format=Name")); q != "" {
		t.Errorf("the QoS was created: %q", q)
	}
	if after := clusterState(t); after != before {
		t.Errorf("plan or apply changed the cluster:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

func stopDaemon(t *testing.T, pidfile string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testbedDir, "run", pidfile))
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	if out, err := exec.Command("kill", pid).CombinedOutput(); err != nil {
		t.Fatalf("kill %s: %v %s", pid, err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if err := exec.Command("sacctmgr", "-n", "list", "cluster").Run(); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("slurmdbd still answers after kill %s", pid)
}

// Beyond the guide: with prove_limits the GPU cap is shown to hold (the
// extra job pends with QOSMaxGRESPerUser) and the proof jobs are gone.
func TestPhase2ProveLimits(t *testing.T) {
	testbed(t, "up")
	testbed(t, "reset")
	r := apply(t, inventory, "--var", "account=hpc-users", "--var", "prove_limits=true")
	if r.code != 0 {
		t.Fatalf("apply exited %d", r.code)
	}
	if n, _ := ticked(r); n != 9 || len(r.report.Checklist) != 9 {
		t.Fatalf("ticked %d of %d, want 9 of 9:\n%s", n, len(r.report.Checklist), r.md)
	}
	if !strings.Contains(r.md, "pends with QOSMaxGRESPerUser: the limit is enforced") {
		t.Errorf("no evidence of the pending reason:\n%s", r.md)
	}
	if q := queueAfterCancel(t); q != "" {
		t.Errorf("proof jobs left in the queue:\n%s", q)
	}
	// Out of the queue is not enough: a proof job's process that escaped
	// the cancel (see prove_limit.go) would hold the GPU outside Slurm.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("pgrep", "-a", "-u", "koopark", "-f", "^sleep 600$").Output()
		if len(out) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("proof job processes still run 10 s after the cancel:\n%s", out)
			exec.Command("pkill", "-KILL", "-u", "koopark", "-f", "^sleep 600$").Run()
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Two applies of phase2 on the same host at once: the second is refused
// by the lock the first holds, and changes nothing.
func TestPhase2ConcurrentApplyRefused(t *testing.T) {
	testbed(t, "up")
	testbed(t, "reset")
	state := t.TempDir()
	first := exec.Command(runbookBin, "apply", filepath.Join(repoRoot, "runbooks", "phase2.hcl"), "-i", inventory,
		"--auto-approve", "--state-dir", state, "--var", "account=hpc-users")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the first apply holds the lock on the host: koopark's own,
	// as sudo lets koopark run sacctmgr but not the lock command.
	koopark, err := user.Lookup("koopark")
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	lock := engine.LockPath("phase2", host, koopark)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(lock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatal("the first apply never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	second := apply(t, inventory, "--var", "account=hpc-users")
	if err := first.Wait(); err != nil {
		t.Fatalf("first apply: %v", err)
	}
	if second.code != 1 || second.report.Hosts[0].Error == "" || !strings.Contains(second.stdout, "--force-unlock") {
		t.Fatalf("second apply was not refused by the lock: exit %d\n%s", second.code, second.stdout)
	}
	for _, s := range second.report.Hosts[0].Steps {
		if s.Status != "not_run" || len(s.Commands) > 0 {
			t.Errorf("refused apply ran step %s (%s)", s.Name, s.Status)
		}
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("lock left after both applies: %v", err)
	}
}

// queueAfterCancel returns koopark's jobs still queued once cancelled jobs
// have had a moment to leave (a scancelled job shows as CG briefly).
func queueAfterCancel(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q := strings.TrimSpace(slurm(t, "squeue", "-h", "-u", "koopark", "-o", "%i %T %j"))
		if q == "" || time.Now().After(deadline) {
			return q
		}
		time.Sleep(200 * time.Millisecond)
	}
}
