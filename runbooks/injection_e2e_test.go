//go:build e2e

// Issue 15, finding 6, against the real testbed: a value that would
// change a shell command is refused before any command runs, so nothing
// it carries runs on the host, not even during plan.
package runbooks_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// exitInvalidInput is runbook's exit status for an invalid runbook or variables.
const exitInvalidInput = 3

// runbookCLI runs runbook with args against the testbed's inventory and a
// fresh state directory, returning its exit status and output.
func runbookCLI(t *testing.T, args ...string) result {
	t.Helper()
	argv := append(append([]string{}, args...), "-i", inventory, "--state-dir", t.TempDir())
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
	t.Logf("runbook %q → exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	return r
}

// injectionMarker is a path on the testbed host (this machine) that a payload
// would create; it is removed when the test ends.
func injectionMarker(t *testing.T, name string) string {
	t.Helper()
	p := fmt.Sprintf("/tmp/rb-e2e-inj-%d-%s", os.Getpid(), name)
	os.Remove(p)
	t.Cleanup(func() { os.Remove(p) })
	return p
}

func writeTempRunbook(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "runbook.hcl")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The finding's two runbooks: `plan` ran the payload on the host.
func TestInjectionPlanRefused(t *testing.T) {
	testbed(t, "up")

	// The control: a check step's command does run on the testbed host
	// during plan, and the marker check sees the file it creates.
	t.Run("control", func(t *testing.T) {
		m := injectionMarker(t, "control")
		rb := writeTempRunbook(t, fmt.Sprintf(`
runbook "inj_control" { hosts = "ctl1" }

step "check" "touch" {
  argv = ["touch", %q]
}
`, m))
		if r := runbookCLI(t, "plan", rb); r.code != 0 {
			t.Fatalf("plan exited %d", r.code)
		}
		if _, err := os.Stat(m); err != nil {
			t.Fatalf("plan's check step did not create %s on the testbed host: the checks below could not see an injection (%v)", m, err)
		}
	})

	for _, c := range []struct {
		name, command, payload string
	}{
		{"unquoted through a local", `"printf %s ${local.lx}"`, "a; touch %s"},
		{"shellquote inside quotes", `"printf %s \"${shellquote(var.x)}\""`, "$(touch %s)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := injectionMarker(t, strings.ReplaceAll(c.name, " ", "-"))
			rb := writeTempRunbook(t, fmt.Sprintf(`
runbook "inj" { hosts = "ctl1" }

variable "x" {
  type = string
}

locals {
  lx = "pre-${var.x}"
}

step "check" "probe" {
  command = %s
}
`, c.command))
			r := runbookCLI(t, "plan", rb, "--var", "x="+fmt.Sprintf(c.payload, m))
			if _, err := os.Stat(m); err == nil {
				t.Errorf("plan ran the payload: %s exists on the testbed host", m)
			}
			if r.code != exitInvalidInput {
				t.Errorf("plan exited %d, want %d (invalid runbook or variables)", r.code, exitInvalidInput)
			}
			for _, want := range []string{"Error: Variable value would change a command that plan runs", "var.x", "shellquote("} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the diagnostic lacks %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "touch "+m) {
				t.Errorf("the diagnostic shows the value:\n%s", r.stderr)
			}
		})
	}
}

// job_gres is written into phase2's batch script: a newline in it put a
// shell line in the script. apply refuses it before any command runs.
func TestPhase2RefusesBadJobGres(t *testing.T) {
	testbed(t, "up")
	m := injectionMarker(t, "job-gres")
	r := runbookCLI(t, "apply", filepath.Join(repoRoot, "runbooks", "phase2.hcl"), "--auto-approve", "--var", "job_gres=gpu:1\ntouch "+m)
	if r.code != exitInvalidInput {
		t.Errorf("apply exited %d, want %d (invalid variables)", r.code, exitInvalidInput)
	}
	if !strings.Contains(r.stderr, "job_gres must look like gpu:N or gpu:TYPE:N") {
		t.Errorf("the refusal does not say what job_gres must be:\n%s", r.stderr)
	}
	if _, err := os.Stat(m); err == nil {
		t.Errorf("the injected script line ran: %s exists", m)
	}
	if strings.Contains(r.stdout, "sacctmgr") || strings.Contains(r.stdout, "sbatch") {
		t.Errorf("apply ran commands although a variable was refused:\n%s", r.stdout)
	}
}
