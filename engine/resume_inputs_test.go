package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
)

// resumeRunbook has a test job (a step that only runs: --resume carries
// it over) whose checklist names the variable it ran with, and a step
// after it that fails until told otherwise.
const resumeRunbook = header + `
variable "x" {
  type = string
}
variable "pw" {
  type      = string
  default   = "S3cret-pw"
  sensitive = true
}
step "fake" "job" {
  id        = "job"
  action    = "run"
  value     = "${var.x} ${var.pw}"
  checklist = ["submitted the job", "ran the job with x=${var.x}"]
}
step "fake" "after" {
  id    = "after"
  value = step.job.value
}
`

// engineFromFile parses the runbook at path with the given --var values,
// as the command line does: a run's record binds the runbook file.
func engineFromFile(t *testing.T, path string, assigns ...string) *engine.Engine {
	t.Helper()
	cfg, diags := config.ParseFile(path, steps.Registry{"fake": fakeKind{}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var sources []config.VarSource
	for _, a := range assigns {
		sources = append(sources, config.VarSource{Assign: a})
	}
	vars, diags := cfg.ResolveVariables(sources, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	eng, diags := engine.New(cfg, vars, engine.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return eng
}

// writeResumeRunbook writes src as a runbook file in a new directory.
func writeResumeRunbook(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "walk.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// failedJobRun is the first apply, made with assigns: the job ran, the
// step after it failed.
func failedJobRun(t *testing.T, path string, assigns ...string) *report.Run {
	t.Helper()
	s := newScript().on("probe job", answer{exit: 1}).on("apply job", answer{out: "4242"}).
		on("probe after", answer{exit: 1}).on("apply after", answer{exit: 3})
	first := apply(t, engineFromFile(t, path, assigns...), one(s), engine.ApplyOptions{})
	first.ID = "run-1"
	if first.Result != engine.ResultFailed {
		t.Fatalf("first run: %s", first.Result)
	}
	return first
}

// secondScript answers the resumed apply: the job's probe still says
// "not done", the step after it now succeeds.
func secondScript() *script {
	return newScript().on("probe job", answer{exit: 1}).on("apply job", answer{out: "4343"}).
		on("probe after", answer{exit: 1}).on("apply after", answer{exit: 0})
}

// TestResumeRefusesOtherInputs (issue 15, finding 5): a run made with
// x=A is not resumed by an apply with x=B (its job proved nothing about
// B), nor with another sensitive value, nor after the runbook changed.
// The refusal names the variable and never prints a value.
func TestResumeRefusesOtherInputs(t *testing.T) {
	path := writeResumeRunbook(t, resumeRunbook)
	first := failedJobRun(t, path, "x=Alpha-value")
	if first.RunbookSHA256 == "" || first.VariableDigests["x"].SHA256 == "" {
		t.Errorf("the run record does not bind its inputs: %q %+v", first.RunbookSHA256, first.VariableDigests)
	}
	if d := first.VariableDigests["pw"]; !d.Sensitive || d.SHA256 != "" || !strings.HasPrefix(d.Argon2id, "argon2id$") {
		t.Errorf("a sensitive value is not kept as a salted Argon2id digest: %+v", d)
	}

	cases := []struct {
		name    string
		assigns []string
		edit    func()
		want    string
	}{
		{"other x", []string{"x=Bravo-value"}, nil, "the value of var.x differs"},
		{"other sensitive pw", []string{"x=Alpha-value", "pw=0ther-secret"}, nil, "the value of var.pw (sensitive) differs"},
		{"runbook edited", []string{"x=Alpha-value"}, func() {
			if err := os.WriteFile(path, []byte(resumeRunbook+"\n# edited\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "changed since that run"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.edit != nil {
				c.edit()
			}
			s := secondScript()
			eng := engineFromFile(t, path, c.assigns...)
			if err := eng.CheckResume(first); !errors.Is(err, engine.ErrInvalidResume) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("CheckResume: %v, want ErrInvalidResume saying %q", err, c.want)
			}
			run, err := eng.Apply(t.Context(), one(s), engine.ApplyOptions{Resume: first})
			if !errors.Is(err, engine.ErrInvalidResume) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("resume: %v, want ErrInvalidResume saying %q", err, c.want)
			}
			// The refused apply's record ends: failed, not left "running".
			if run.Result != engine.ResultFailed || run.Ended.IsZero() {
				t.Errorf("refused apply recorded as result %q, ended %v; want failed with an end", run.Result, run.Ended)
			}
			for _, value := range []string{"Alpha-value", "Bravo-value", "S3cret-pw", "0ther-secret"} {
				if strings.Contains(err.Error(), value) {
					t.Errorf("the refusal prints a value: %v", err)
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.ran) != 0 {
				t.Errorf("a refused resume ran %q", s.ran)
			}
		})
	}
}

// TestResumeOnlyFailedOrInterrupted: a successful apply has nothing to
// resume; a failed, an interrupted and a killed one ("running" left in its
// record) do, with the same inputs.
func TestResumeOnlyFailedOrInterrupted(t *testing.T) {
	path := writeResumeRunbook(t, resumeRunbook)
	for result, ok := range map[string]bool{
		report.ResultSuccess: false, report.ResultPlanned: false,
		report.ResultFailed: true, report.ResultInterrupted: true, report.ResultRunning: true,
	} {
		t.Run(result, func(t *testing.T) {
			prev := failedJobRun(t, path, "x=A")
			prev.Result = result
			s := secondScript()
			run, err := engineFromFile(t, path, "x=A").Apply(t.Context(), one(s), engine.ApplyOptions{Resume: prev})
			if !ok {
				if !errors.Is(err, engine.ErrInvalidResume) || !strings.Contains(err.Error(), "only a failed or interrupted apply can be resumed") {
					t.Fatalf("resume of a %s run: %v", result, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resume of a %s run: %v", result, err)
			}
			if job := stepOf(t, run, "h1", "job"); job.ResumedFrom != "run-1" || s.count("apply job") != 0 {
				t.Errorf("job not carried over: resumed_from %q, ran %d times", job.ResumedFrom, s.count("apply job"))
			}
		})
	}
}

// TestResumeCarriesWithSameInputs: with the same runbook and values the
// job is carried over, and every checklist line it ticks says so, even
// the line whose evidence the kind labelled (the "evidence from run" note
// is not on it); resumed again, the evidence still names the run that
// gathered it.
func TestResumeCarriesWithSameInputs(t *testing.T) {
	path := writeResumeRunbook(t, resumeRunbook)
	first := failedJobRun(t, path, "x=A")

	s := newScript().on("probe job", answer{exit: 1}).on("probe after", answer{exit: 1}).on("apply after", answer{exit: 3})
	second := apply(t, engineFromFile(t, path, "x=A"), one(s), engine.ApplyOptions{Resume: first})
	second.ID = "run-2"
	if s.count("apply job") != 0 || second.Result != engine.ResultFailed {
		t.Fatalf("second run: job ran %d times, result %s", s.count("apply job"), second.Result)
	}
	second.BuildChecklist()
	for _, it := range second.Checklist {
		if it.Step != "job" {
			continue
		}
		if !it.Ticked || it.CarriedFrom != "run-1" || len(it.Evidence) == 0 || it.Evidence[0] != report.CarriedLabel("run-1") {
			t.Errorf("%q: ticked %v, carried_from %q, evidence %q", it.Text, it.Ticked, it.CarriedFrom, it.Evidence)
		}
	}

	third := apply(t, engineFromFile(t, path, "x=A"), one(secondScript()), engine.ApplyOptions{Resume: second})
	if job := stepOf(t, third, "h1", "job"); job.ResumedFrom != "run-1" || job.Summary != "resumed: applied job (in run run-1)" {
		t.Errorf("resumed twice: resumed_from %q, summary %q: want the run that ran the job", job.ResumedFrom, job.Summary)
	}
	if third.Result != engine.ResultSuccess {
		t.Errorf("third run: %s", third.Result)
	}
}

// TestResumeOfUnboundRunRefused: a record without digests of its inputs
// (written before they were recorded) cannot show it was made from the
// same ones, so it is not resumed.
func TestResumeOfUnboundRunRefused(t *testing.T) {
	path := writeResumeRunbook(t, resumeRunbook)
	prev := failedJobRun(t, path, "x=A")
	prev.RunbookSHA256, prev.VariableDigests = "", nil
	_, err := engineFromFile(t, path, "x=A").Apply(t.Context(), one(secondScript()), engine.ApplyOptions{Resume: prev})
	if !errors.Is(err, engine.ErrInvalidResume) || !strings.Contains(err.Error(), "recorded no digest") {
		t.Fatalf("resume of a run without digests: %v", err)
	}
}
