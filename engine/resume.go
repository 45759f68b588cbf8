package engine

import (
	"fmt"

	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// --resume continues a failed or interrupted apply. Only a step that would
// run again without any probe (a test job) is carried over from the
// earlier run, with its evidence and results, labelled as coming from
// that run; every step with a probe is re-checked against the live state.

// LoadRun reads the run a --resume names (a run id or id prefix under
// root, or a run directory), through report.Load: a record from a newer
// schema is refused.
func LoadRun(root, ref string) (*report.Run, error) {
	dir, err := report.Resolve(root, ref)
	if err != nil {
		return nil, err
	}
	return report.Load(dir)
}

// resumed is an earlier run's step records, by host and step.
type resumed struct {
	runID string
	steps map[stepKey]*report.Step
}

// resumeFrom checks that prev can be resumed by this engine's runbook.
func (e *Engine) resumeFrom(prev *report.Run) (*resumed, error) {
	if name := e.cfg.Runbook.Name; prev.Runbook != name {
		return nil, fmt.Errorf("%w %s: that run is of runbook %q, not %q", ErrInvalidResume, prev.ID, prev.Runbook, name)
	}
	if prev.Mode != string(ModeApply) {
		return nil, fmt.Errorf("%w %s: that run is a %s, not an apply", ErrInvalidResume, prev.ID, prev.Mode)
	}
	r := &resumed{runID: prev.ID, steps: map[stepKey]*report.Step{}}
	for _, h := range prev.Hosts {
		for _, st := range h.Steps {
			r.steps[stepKey{h.Name, st.Name}] = st
		}
	}
	return r, nil
}

// step returns the earlier run's successful record of a step, with its
// results, when it may be reused.
func (r *resumed) step(k stepKey) (*report.Step, map[string]cty.Value) {
	if r == nil {
		return nil, nil
	}
	prev, ok := r.steps[k]
	if !ok || !prev.Succeeded() || prev.Outputs == nil {
		return nil, nil
	}
	ty, err := ctyjson.UnmarshalType(prev.Outputs.Type)
	if err != nil {
		return nil, nil
	}
	v, err := ctyjson.Unmarshal(prev.Outputs.Value, ty)
	if err != nil || !v.Type().IsObjectType() {
		return nil, nil
	}
	vals := map[string]cty.Value{}
	for k, x := range v.AsValueMap() {
		vals[k] = x
	}
	return prev, vals
}

// carryOver takes a run-only step's result from the resumed run, if it
// completed there; it reports whether it did.
func (r *stepRun) carryOver(p steps.Proposal) bool {
	prev, vals := r.resume.step(stepKey{r.hostWalk.rec.Name, r.st.Name})
	if prev == nil {
		return false
	}
	r.describe(p)
	r.carried, r.outputs = prev, vals
	r.rec.Status, r.rec.Changed, r.rec.ResumedFrom = prev.Status, prev.Changed, r.resume.runID
	r.rec.Summary = "resumed: " + prev.Summary + " (in run " + r.resume.runID + ")"
	r.setResult(vals, prev.Changed, prev.Status)
	return true
}
