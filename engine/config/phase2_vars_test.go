package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/steps"
)

// Issue 15, finding 6: phase2's job_gres and job_time go into the test
// job's batch script, so `--var $'job_gres=gpu:1\ntouch /tmp/x'` put a
// shell line in it. Every phase2 variable that reaches the script (or the
// submission's sudo -u) is refused unless it has its expected shape.
func TestPhase2RefusesValuesThatWouldChangeTheScript(t *testing.T) {
	cfg, diags := config.ParseFile(filepath.Join("..", "..", "runbooks", "phase2.hcl"), steps.Builtin())
	if diags.HasErrors() {
		t.Fatalf("phase2.hcl: %s", diagList(diags))
	}
	for _, tt := range []struct {
		assign string
		ok     bool
	}{
		{"job_gres=gpu:1", true},
		{"job_gres=gpu:a100:2", true},
		{"job_gres=gpu:1\ntouch /tmp/x", false},
		{"job_gres=gpu:1 --wrap=id", false},
		{"job_gres=gpu:0", false},
		{"job_time=5", true},
		{"job_time=00:05:00", true},
		{"job_time=1-00:00:00", true},
		{"job_time=00:05:00\ntouch /tmp/x", false},
		{"job_time=$(id)", false},
		{"job_user=koopark", true},
		{"job_user=", true},
		{"job_user=root -s /bin/sh", false},
		{"job_user=a;b", false},
	} {
		_, diags := cfg.ResolveVariables([]config.VarSource{{Assign: tt.assign}}, nil)
		name, _, _ := strings.Cut(tt.assign, "=")
		switch {
		case tt.ok && diags.HasErrors():
			t.Errorf("--var %q refused:\n%s", tt.assign, diagList(diags))
		case !tt.ok && !diags.HasErrors():
			t.Errorf("--var %q accepted: it would be written into the test job's script", tt.assign)
		case !tt.ok && !strings.Contains(diagList(diags), name+" must "):
			t.Errorf("--var %q: the refusal does not say what %s must be:\n%s", tt.assign, name, diagList(diags))
		}
	}
}
