//go:build e2e

package runbooks_test

import (
	"fmt"
	"os"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Issue 15 (Low): a test job's output path in /tmp is predictable, so
// another user of the host can put a file there first, holding the lines
// the step looks for. Such a stale file must never count as the job's
// output: the job cannot write it, and the step fails.
func TestTestJobDoesNotTrustAStaleOutputFile(t *testing.T) {
	testbed(t, "up")
	testbed(t, "reset")
	const outputPattern = "/tmp/rb-e2e-stale-%d-%%j.out"
	rb := writeTempRunbook(t, fmt.Sprintf(`
runbook "stale_output" { hosts = "ctl1" }

step "test_job" "job" {
  checklist     = ["submit the job", "check its output"]
  qos           = "normal"
  partition     = "viz"
  output        = %q
  expect_output = ["QoS: normal", "Test completed successfully!"]
  timeout       = "2m"
}
`, fmt.Sprintf(outputPattern, os.Getpid())))

	// The control: the same job without a stale file succeeds, so the
	// failure below is the stale file's doing.
	if r := runbookCLI(t, "apply", rb, "--auto-approve"); r.code != 0 {
		t.Fatalf("the test job fails without any stale file (exit %d): the check below would prove nothing", r.code)
	}

	// Job ids are handed out in order: stale files for the next few ids,
	// owned by another user, claiming the job succeeded.
	other, err := user.Lookup("rbnosudo")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(other.Uid)
	gid, _ := strconv.Atoi(other.Gid)
	last := lastJobID(t)
	for id := last + 1; id <= last+20; id++ {
		p := fmt.Sprintf(strings.ReplaceAll(outputPattern, "%%j", strconv.Itoa(id)), os.Getpid())
		if err := os.WriteFile(p, []byte("QoS: normal\nTest completed successfully!\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(p) })
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	r := runbookCLI(t, "apply", rb, "--auto-approve")
	if r.code != 1 {
		t.Errorf("apply exited %d with a stale output file in place, want 1 (the step fails)", r.code)
	}
	if strings.Contains(r.stdout, "Checklist: 2 of 2 ticked") || !strings.Contains(r.stdout, "want COMPLETED") {
		t.Errorf("the step trusted the stale file: it should fail on the job's state and tick no output line:\n%s", r.stdout)
	}
	m := regexp.MustCompile(`test job (\d+):`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no job id in the failure:\n%s", r.stdout)
	}
	if id, _ := strconv.Atoi(m[1]); id < last+1 || id > last+20 {
		t.Fatalf("the job got id %d, not one with a stale file (%d–%d): the test did not test anything", id, last+1, last+20)
	}
}

// lastJobID is the highest job id Slurm has handed out (from accounting).
func lastJobID(t *testing.T) int {
	t.Helper()
	last := 0
	for _, f := range strings.Fields(slurm(t, "sacct", "-a", "-X", "-n", "-P", "-o", "JobID", "-S", "2000-01-01")) {
		if id, err := strconv.Atoi(f); err == nil && id > last {
			last = id
		}
	}
	return last
}
