//go:build e2e

package runbooks_test

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden plan files")

// plan runs `runbook plan` on phase2 and returns stdout and the exit code.
func plan(t *testing.T, args ...string) (string, int) {
	t.Helper()
	argv := append([]string{"plan", filepath.Join(repoRoot, "runbooks", "phase2.hcl"), "-i", inventory, "--state-dir", t.TempDir()}, args...)
	cmd := exec.Command(runbookBin, argv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	return stdout.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("plan differs from %s:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// clusterState is everything a plan must leave byte-identical. Accounting
// completes a finished job's record a few seconds late (earlier tests'
// jobs), so the state is read until two reads a second apart agree.
func clusterState(t *testing.T) string {
	t.Helper()
	prev := readClusterState(t)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		time.Sleep(time.Second)
		cur := readClusterState(t)
		if cur == prev {
			return cur
		}
		prev = cur
	}
	t.Fatalf("cluster state never settled:\n%s", prev)
	return ""
}

func readClusterState(t *testing.T) string {
	return strings.Join([]string{
		slurm(t, "sacctmgr", "-n", "-P", "show", "qos"),
		slurm(t, "sacctmgr", "-n", "-P", "show", "assoc"),
		slurm(t, "squeue", "-h", "-a"),
		slurm(t, "sacct", "-X", "-P", "-n", "--allusers", "--starttime=now-7days"),
	}, "\n----\n")
}

func sshdLogSize(t *testing.T) int64 {
	fi, err := os.Stat(filepath.Join(testbedDir, "sshd", "sshd.log"))
	if err != nil {
		t.Fatalf("sshd log: %v", err)
	}
	return fi.Size()
}

// commandsSince returns the commands sshd ran since offset in its log.
func commandsSince(t *testing.T, offset int64) []string {
	b, err := os.ReadFile(filepath.Join(testbedDir, "sshd", "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, l := range strings.Split(string(b[offset:]), "\n") {
		if _, c, ok := strings.Cut(l, "mm_audit_run_command entering command "); ok {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

var mutating = regexp.MustCompile(`sacctmgr[^']*\s(-i\s+)?(add|modify|delete|create|remove)\s|sbatch|scancel|srun|scontrol\s+(update|create|delete)`)

func TestPlanGoldens(t *testing.T) {
	testbed(t, "up")
	cases := []struct {
		name  string
		setup func(t *testing.T)
	}{
		{"plan_fresh.golden", func(t *testing.T) {}},
		{"plan_correct.golden", func(t *testing.T) {
			if r := apply(t, inventory, "--var", "account=hpc-users"); r.code != 0 {
				t.Fatalf("setup apply exited %d", r.code)
			}
		}},
		{"plan_two_wrong_fields.golden", func(t *testing.T) {
			slurm(t, "sacctmgr", "-i", "add", "qos", "moonlight")
			slurm(t, "sacctmgr", "-i", "modify", "qos", "moonlight", "set", "Priority=5", "GraceTime=60", "MaxTRESPerUser=gres/gpu=2")
			slurm(t, "sacctmgr", "-i", "modify", "user", "where", "account=hpc-users", "set", "qos+=moonlight")
		}},
		{"plan_grant_pending.golden", func(t *testing.T) {
			slurm(t, "sacctmgr", "-i", "add", "qos", "moonlight", "Priority=100", "GraceTime=60", "MaxWall=8:00:00", "MaxTRESPerUser=gres/gpu=2")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testbed(t, "reset")
			tc.setup(t)
			before := clusterState(t)
			offset := sshdLogSize(t)
			out, code := plan(t, "--var", "account=hpc-users", "--show-commands", "--detailed-exitcode")
			if code != 2 {
				t.Fatalf("plan --detailed-exitcode exited %d, want 2 (the test job always runs)\n%s", code, out)
			}
			golden(t, tc.name, out)
			// A plan never changes the cluster.
			if after := clusterState(t); after != before {
				t.Fatalf("cluster state changed during plan:\n--- before\n%s\n--- after\n%s", before, after)
			}
			cmds := commandsSince(t, offset)
			if len(cmds) == 0 {
				t.Fatal("sshd logged no commands: the plan did not probe, or the log level hides them")
			}
			for _, c := range cmds {
				if mutating.MatchString(c) {
					t.Errorf("plan ran a mutating command: %s", c)
				}
			}
		})
	}
}

func TestPlanJSON(t *testing.T) {
	testbed(t, "up")
	testbed(t, "reset")
	out, code := plan(t, "--json", "--var", "account=hpc-users")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var p struct {
		Kind          string `json:"kind"`
		FormatVersion int    `json:"format_version"`
		Summary       struct {
			Create, Modify, Run, Unknown int
		} `json:"summary"`
		Hosts []struct {
			Name  string `json:"name"`
			Steps []struct {
				Name    string `json:"name"`
				Action  string `json:"action"`
				Changes []struct{ Field, Current, Desired string }
			} `json:"steps"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan --json is not JSON: %v\n%s", err, out)
	}
	if p.Kind != "runbook-plan" || p.FormatVersion != 2 || p.Summary.Create != 1 || p.Summary.Modify != 2 || p.Summary.Run != 1 {
		t.Fatalf("unexpected plan header/summary: %+v", p)
	}
	var fields []string
	for _, s := range p.Hosts[0].Steps {
		if s.Name == "qos_limits" {
			for _, c := range s.Changes {
				fields = append(fields, c.Field+"="+c.Desired)
			}
		}
	}
	if strings.Join(fields, " ") != "Priority=100 GraceTime=00:01:00 MaxWall=08:00:00 MaxTRESPerUser=gres/gpu=2" {
		t.Fatalf("qos_limits changes: %v", fields)
	}
}

// A saved plan is applied only when nothing changed since; a field changed
// by hand in between makes apply refuse, naming the field, and do nothing.
func TestSavedPlan(t *testing.T) {
	testbed(t, "up")
	testbed(t, "reset")
	slurm(t, "sacctmgr", "-i", "add", "qos", "moonlight")
	slurm(t, "sacctmgr", "-i", "modify", "qos", "moonlight", "set", "Priority=5", "GraceTime=60", "MaxTRESPerUser=gres/gpu=2")
	planPath := filepath.Join(t.TempDir(), "phase2.plan")
	if out, code := plan(t, "--var", "account=hpc-users", "--out", planPath); code != 0 {
		t.Fatalf("plan exited %d\n%s", code, out)
	}
	if fi, err := os.Stat(planPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("plan file: %v %v", fi, err)
	}
	// Someone changes Priority by hand between plan and apply.
	slurm(t, "sacctmgr", "-i", "modify", "qos", "moonlight", "set", "Priority=7")
	before := clusterState(t)
	cmd := exec.Command(runbookBin, "apply", planPath, "--state-dir", t.TempDir())
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("apply of a stale plan: %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{"stale", "host ctl1", "Priority: 5 → 100", "Priority: 7 → 100", "moonlight|00:01:00|gres/gpu=2||5", "Nothing was applied"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("refusal does not say %q:\n%s", want, out)
		}
	}
	if after := clusterState(t); after != before {
		t.Fatalf("a refused apply changed the cluster")
	}

	// A fresh plan of the same state applies, exactly.
	if out, code := plan(t, "--var", "account=hpc-users", "--out", planPath); code != 0 {
		t.Fatalf("plan exited %d\n%s", code, out)
	}
	cmd = exec.Command(runbookBin, "apply", planPath, "--state-dir", t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apply of a fresh plan: %v\n%s", err, out)
	}
	if got := readQoS(t); got != qosRow {
		t.Fatalf("QoS reads %q after applying the plan", got)
	}
}
